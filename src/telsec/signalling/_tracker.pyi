"""Types of the compiled stateful rules (:file:`_tracker.pyx`)."""

from telsec.signalling.findings import Events, Finding
from telsec.signalling.policy import Policy

class Tracker:
    policy: Policy
    max_subscribers: int
    max_pending: int
    max_recent: int
    max_gts: int
    undecided: int
    def __init__(
        self,
        policy: Policy,
        max_subscribers: int = ...,
        max_pending: int = ...,
        max_recent: int = ...,
        max_gts: int = ...,
    ) -> None: ...
    def apply(self, events: Events) -> list[Finding]: ...
    def expire(self, now: float) -> list[Finding]: ...
    def advance(self, now: float) -> list[Finding]: ...
    def sizes(self) -> dict[str, int]: ...
    def finish(self) -> list[Finding]: ...
