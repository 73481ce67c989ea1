"""Parameters of the `pmem_image` model (defaults and their sources: docs/models/pmem_image.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from sim.components.cloud.object_store import ObjectStoreParams
from sim.components.memory import DramParams, PmemParams
from sim.components.storage import SsdParams
from sim.core.system import Params
from sim.core.units import Duration, PositiveDuration, PositiveRate, PositiveSize
from sim.workloads import KeyDist

MAX_PAGES = 1 << 25  # 32 Mi pages (128 GiB of 4 KiB pages): the numpy state stays below a few GB


class PmemImageParams(Params):
    """Mechanism and baseline settings; defaults and their sources are in docs/models/pmem_image.md."""

    scheme: Literal["full_index", "diff_index", "copy_whole", "copy_dirty", "fork_snapshot", "criu_predump"] = Field(
        "diff_index",
        description="image index scheme, or a copy-checkpoint baseline (stop-the-world: copy_whole, copy_dirty; "
        "in the background: fork_snapshot as Redis BGSAVE, criu_predump as CRIU's iterative pre-dump)",
    )
    page_size: PositiveSize = Field(4096, description="bytes per page (x86-64 base page)")
    memory_size: PositiveSize = Field(4 * 2**30, description="application working memory, bytes")
    placement: Literal["dram", "pmem", "mixed"] = Field(
        "pmem",
        description="dram: pages and images in DRAM; pmem: both in PMEM; "
        "mixed: pages in DRAM, images written back to PMEM at capture",
    )
    capture_interval: PositiveDuration = Field(1.0, description="time between images / checkpoints")
    images_retained: int = Field(8, ge=1, description="images (or checkpoints) kept")
    reclaim_interval: Duration = Field(0.0, description="reclaimer period; 0: right after each capture")
    copy_target: Literal["ssd", "object_store"] = Field("ssd", description="where the baseline copies")
    copy_full_every: int = Field(
        8, ge=1, description="copy_dirty: every k-th checkpoint copies the whole memory"
    )
    predump_max_rounds: int = Field(8, ge=1, description="criu_predump: pre-dump rounds at most")
    predump_min_pages: int = Field(64, ge=0, description="criu_predump: a round copying at most this many pages is the last")
    predump_max_growth: float = Field(
        0.10, ge=0, description="criu_predump: a round larger than the previous by more than this fraction is the last"
    )
    predump_recopy: bool = Field(
        True,
        description="false: BROKEN on purpose: criu_predump does not copy again the pages dirtied after a round "
        "copied them (its checkpoint holds stale pages)",
    )
    object_part_size: PositiveSize = Field(64 * 2**20, description="object-store part (one PUT/GET) size")
    object_connections: int = Field(16, ge=1, description="parallel object-store requests")
    index_entry_size: PositiveSize = Field(8, description="bytes per full-index entry (one 64-bit PTE)")
    diff_entry_size: PositiveSize = Field(16, description="bytes per difference entry (page number + PTE)")
    entry_capture_cost: Duration = Field(61e-9, description="CPU time to copy and write-protect one entry, s")
    entry_map_cost: Duration = Field(61e-9, description="CPU time to install one page mapping at restore, s")
    capture_fixed_cost: Duration = Field(50e-6, description="stopping and resuming the application, s")
    cow_fault_cost: Duration = Field(1.0e-6, description="kernel cost of one copy-on-write fault, s")
    log_device: Literal["pmem", "ssd"] = Field("pmem", description="where the application log is persisted")
    log_flush_interval: Duration = Field(0.0, description="group commit period; 0: every write persisted")
    log_replay_rate: PositiveRate = Field(118e3, description="log records replayed per second at recovery")
    write_queue_depth: int = Field(
        1024, ge=1, description="writes queued at most (arrivals finding it full are refused: back-pressure)"
    )
    pause_limit: PositiveDuration = Field(
        60.0, description="liveness: one capture pausing the application longer than this is a violation"
    )
    restore_probe_interval: PositiveDuration = Field(5.0, description="period of the restore/clone checks")
    write_tick: PositiveDuration = Field(1e-3, description="writes arriving in a tick are applied together")
    copy_on_write: bool = Field(True, description="false: the broken variant writing kept versions in place")
    verify_checksums: bool = Field(True, description="false: the broken variant trusting damaged indexes")
    skip_persist: bool = Field(
        False,
        description="BROKEN on purpose: the image path never persists (no clwb + sfence of the index, "
        "frames, commit record or merged index); captures still report success",
    )
    dram: DramParams = Field(default_factory=DramParams)
    pmem: PmemParams = Field(default_factory=PmemParams)
    ssd: SsdParams = Field(default_factory=SsdParams)
    object_store: ObjectStoreParams = Field(default_factory=ObjectStoreParams)

    @field_validator("memory_size")
    @classmethod
    def _whole_pages(cls, v: float, info: ValidationInfo) -> float:
        page = info.data.get("page_size")
        if page is None:
            return v
        pages = v / page
        if pages < 1 or abs(pages - round(pages)) > 1e-9 * pages:
            raise ValueError(f"must be a whole number of pages (a multiple of page_size = {page:g} B)")
        if round(pages) > MAX_PAGES:
            raise ValueError(f"{round(pages)} pages of {page:g} B; at most {MAX_PAGES} pages are supported")
        return v

    @model_validator(mode="after")
    def _tick(self):
        if self.write_tick >= self.capture_interval:
            raise ValueError("write_tick must be shorter than capture_interval")
        if 0 < self.reclaim_interval < self.write_tick:
            raise ValueError(
                f"reclaim_interval: {self.reclaim_interval:g} s is below the modelling resolution "
                f"(write_tick = {self.write_tick:g} s); use 0 (after each capture) or at least write_tick"
            )
        for key in ("index_entry_size", "diff_entry_size"):
            if getattr(self, key) > self.page_size:
                raise ValueError(f"{key}: {getattr(self, key):g} B per entry is larger than a page "
                                 f"({self.page_size:g} B); an index entry is a page-table-sized record")
        if self.placement != "dram" and self.memory_size > self.pmem.capacity:
            raise ValueError(f"memory_size: {self.memory_size:g} B does not fit in the PMEM "
                             f"(pmem.capacity = {self.pmem.capacity:g} B)")
        if self.pause_limit <= 2 * self.write_tick:
            raise ValueError("pause_limit must be well above write_tick")
        return self


class PmemImageWorkload(Params):
    """The application: page writes (Poisson), which pages they hit, and its log records."""

    write_rate: PositiveRate = Field(100e3, description="page writes per second (Poisson)")
    keys: KeyDist = Field(
        default_factory=lambda: KeyDist(dist="zipf", zipf_s=0.99), description="which page a write hits"
    )
    log_record_size: PositiveSize = Field(128, description="bytes per application log record")
