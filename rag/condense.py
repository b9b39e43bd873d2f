"""Make a follow-up question self-contained before retrieval (rule-based), and keep only what is asked.

"那次会议由谁主持？" means nothing alone; prefixing the previous user question
gives retrieval and evidence scoring the missing subject.
"""

from __future__ import annotations

import re

_FOLLOW_UP = re.compile(
    r"那次|这次|那个|这个|那些|这些|那里|这里|该|其|它|他们|她们|他|她|此|上述|前者|后者|同年|当时|还有|呢[？?]?$"
    r"|\b(it|its|they|them|their|that|this|those|these|he|she|his|her|there|then|what about|and)\b",
    re.I,
)


_AFTER_LAST_QUESTION = re.compile(r"(?<=[？?])[^？?]*$")


def asked_part(question: str) -> str:
    """The question without a request or thanks after its last question mark ("…？请给出出处。", "…? Thanks!"):
    such words are not what is asked, so they must neither steer retrieval nor count as terms the evidence
    has to cover."""
    stripped = _AFTER_LAST_QUESTION.sub("", question.strip())
    return stripped if re.search(r"\w", stripped) else question


def is_follow_up(question: str) -> bool:
    return bool(_FOLLOW_UP.search(question)) or len(question.strip()) <= 6


def previous_question(history: list[dict]) -> str | None:
    """The user's last non-empty question in the conversation, if any."""
    return next((m["content"].strip() for m in reversed(history)
                 if m.get("role") == "user" and (m.get("content") or "").strip()), None)


def standalone_question(question: str, history: list[dict]) -> str:
    previous = previous_question(history)
    if previous is None or not is_follow_up(question):
        return question
    return f"{previous} {question}"
