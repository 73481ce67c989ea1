"""The mechanism and its baselines (`params.variant`), and the user-log replay rule (`params.user_replay_start`).

Each variant is a small strategy class picked from `VARIANTS` by name: it says which background
actors run on the primary and how many read-only replicas the store has. Nothing else differs.
"""

from __future__ import annotations

from typing import ClassVar

from sim.systems.kv_recovery.checkpointer import checkpointer, user_checkpointer
from sim.systems.kv_recovery.page_writer import page_writer
from sim.systems.kv_recovery.transactions import log_writer


class FastRestart:
    """The mechanism: periodic mapping-table checkpoints and read-only replicas."""

    name: ClassVar[str] = "fast_restart"
    checkpoints: ClassVar[bool] = True

    def replicas(self, params) -> int:
        return params.replicas

    def primary_actors(self, store) -> list:
        """Generators of the primary's background actors (started when it becomes writable)."""
        actors = [log_writer(store), page_writer(store)]
        if self.checkpoints:
            actors.append(checkpointer(store))
            if store.params.user_checkpoint_interval is not None:
                actors.append(user_checkpointer(store))
        return actors


class NoCheckpoint(FastRestart):
    """Baseline: only the load-time checkpoint exists; recovery replays every log since the load."""

    name = "no_checkpoint"
    checkpoints = False


class NoReplicas(FastRestart):
    """Baseline: no replicas; every read waits for a writable primary."""

    name = "no_replicas"

    def replicas(self, params) -> int:
        return 0


VARIANTS: dict[str, type[FastRestart]] = {cls.name: cls for cls in (FastRestart, NoCheckpoint, NoReplicas)}


def replay_from_min_uncommitted(oldest: int, replay_point: int) -> int:
    """The mechanism: from the oldest transaction uncommitted at the user checkpoint (or the replay point)."""
    return min(oldest, replay_point)


def replay_from_replay_point(oldest: int, replay_point: int) -> int:
    """A deliberately broken rule (for tests): ignores transactions in flight at the checkpoint."""
    return replay_point


#: `params.user_replay_start` -> where user-log replay starts, from the user checkpoint record
REPLAY_START = {"min_uncommitted": replay_from_min_uncommitted, "replay_point": replay_from_replay_point}
