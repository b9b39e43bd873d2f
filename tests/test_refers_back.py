"""Which sentences open by referring back to the sentence before them (rag/text.py `refers_back`)."""

import pytest

from rag.text import refers_back


@pytest.mark.parametrize("sentence", ["It delivers water to 84,000 households.", "  They opened in May.",
                                      "Their plant is the largest.", "该馆始建于1987年。", "其种加词来源于拉丁文。",
                                      "此次会议在东京举行。", "他表示将继续推进。"])
def test_a_pronoun_opening_refers_back(sentence):
    assert refers_back(sentence)


@pytest.mark.parametrize("sentence", ["Italy is a country.", "This is because a solution exists.", "这是首次展出。",
                                      "Thistle grows here.", "Bothwell Castle is old.", "The plant is large.",
                                      "博物馆始建于1987年。", "特展门票为每人40元。", "此外，车站还有一条专用线。",
                                      "此后，机制开始迅速增多。", "此前他担任局长。", "其实这是首次展出。"])
def test_a_sentence_naming_its_subject_does_not(sentence):
    assert not refers_back(sentence)


@pytest.mark.parametrize("sentence", ["This is because a solution exists.", "These plants run at night.",
                                      "Both plants run at night.", "这是首次展出。"])
def test_a_demonstrative_opening_continues_the_sentence_before_only_when_asked(sentence):
    assert refers_back(sentence, demonstratives=True) and not refers_back(sentence)
