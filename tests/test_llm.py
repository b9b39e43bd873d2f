"""The queue in front of the local model: arrival order, a bounded wait, no lost turns."""

import threading

import pytest
from llama_index.core.base.llms.types import ChatMessage

from rag.llm import FakeLLM, FifoGate, ModelBusy, QueuedLLM, chatml

from conftest import wait_until


def test_gate_serves_in_arrival_order_one_at_a_time():
    gate = FifoGate(max_waiting=10)
    started: list[int] = []
    active, peak = [0], [0]
    lock = threading.Lock()
    release = [threading.Event() for _ in range(6)]

    def ask(i: int):
        with gate.turn():
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
                started.append(i)
            release[i].wait(10)  # hold the turn until the test lets go
            with lock:
                active[0] -= 1

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(6)]
    threads[0].start()
    wait_until(lambda: started == [0])
    for i in range(1, 6):  # each takes its ticket before the next arrives
        threads[i].start()
        wait_until(lambda: gate.waiting == i)
    for i in range(6):
        wait_until(lambda: len(started) == i + 1)
        assert started == list(range(i + 1))
        release[i].set()
    for t in threads:
        t.join(5)
    assert started == list(range(6)) and peak[0] == 1 and gate.waiting == 0


def test_gate_turns_away_beyond_the_queue_bound_and_recovers():
    gate = FifoGate(max_waiting=1)
    inside, release = threading.Event(), threading.Event()

    def holder():
        with gate.turn():
            inside.set()
            release.wait(5)

    def waiter():
        with gate.turn():
            pass

    threading.Thread(target=holder).start()
    assert inside.wait(5)
    w = threading.Thread(target=waiter)
    w.start()
    wait_until(lambda: gate.waiting == 1)
    with pytest.raises(ModelBusy, match="busy"):
        with gate.turn():
            pass
    release.set()
    w.join(5)
    with gate.turn():  # a failed or finished turn never blocks the line
        pass
    assert gate.waiting == 0


def test_a_failing_turn_releases_the_gate():
    gate = FifoGate(max_waiting=2)
    with pytest.raises(ValueError):
        with gate.turn():
            raise ValueError("model crashed")
    with gate.turn():
        pass


def test_queued_llm_streams_the_inner_model_and_holds_the_turn_until_the_stream_ends():
    inner = FakeLLM().enqueue("英国于2024年加入。")
    llm = QueuedLLM(inner, FifoGate(max_waiting=0))
    stream = llm.stream_chat([ChatMessage(role="user", content="问题")])
    first = next(stream)
    with pytest.raises(ModelBusy):  # the first stream still holds the only turn
        next(llm.stream_chat([ChatMessage(role="user", content="另一个问题")]))
    text = first.delta + "".join(c.delta for c in stream)
    assert text == "英国于2024年加入。"
    assert inner.prompts == [chatml([ChatMessage(role="user", content="问题")])]
    assert llm.complete("x").text == ""  # the turn came back when the stream ended


def test_gate_with_two_slots_serves_two_at_once_in_arrival_order_and_bounds_the_line():
    gate = FifoGate(max_waiting=1, slots=2)
    started: list[int] = []
    release = [threading.Event() for _ in range(3)]
    entered = threading.Condition()

    def ask(i: int):
        with gate.turn():
            with entered:
                started.append(i)
                entered.notify_all()
            release[i].wait(10)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(3)]
    for i, t in enumerate(threads):
        t.start()
        wait_until(lambda: gate._next > i, what=f"asker {i} in line")  # arrive in index order
    with entered:
        assert entered.wait_for(lambda: len(started) == 2, 5)
    assert started == [0, 1] and gate.waiting == 1
    with pytest.raises(ModelBusy):  # both slots busy and one already waiting
        with gate.turn():
            pass
    release[1].set()  # the second finishes first: the third takes its slot
    with entered:
        assert entered.wait_for(lambda: len(started) == 3, 5)
    assert started == [0, 1, 2] and gate.waiting == 0
    release[0].set()
    release[2].set()
    for t in threads:
        t.join(5)


def test_fake_llm_answers_queued_replies_in_order_then_its_default():
    llm = FakeLLM(default=lambda messages: f"echo: {messages[-1].content}")
    llm.enqueue("first", ValueError("down"), lambda messages: messages[0].content.upper() + " reply")
    turns = [ChatMessage(role="system", content="sys"), ChatMessage(role="user", content="q")]
    assert llm.complete("p").text == "first"
    with pytest.raises(ValueError):
        llm.stream_chat(turns)
    chunks = list(llm.stream_chat(turns))
    assert len(chunks) > 1 and "".join(c.delta for c in chunks) == chunks[-1].message.content == "SYS reply"
    assert llm.chat(turns).message.content == "echo: q"
    assert llm.prompts == ["p", chatml(turns), chatml(turns), chatml(turns)]
    assert llm.replies == ["first", "SYS reply", "echo: q"]
    assert FakeLLM().complete("x").text == ""
