"""What a piece of torch code makes the host wait for, and how many operators it dispatches,
counted on any device (the CPU included, where nothing waits and so nothing can be timed).

On a GPU the host queues kernels and runs ahead of them; it stops and waits whenever it
needs a value that only the device has. On the CPU those same calls cost nothing, so a
wall-clock benchmark there cannot see them (issue 29: 120 ms per step on an H100, most of
it the host). `torch.cuda.set_sync_debug_mode` flags them on CUDA only; this counts them on
any device, from two of torch's Python hooks:

- a `TorchFunctionMode` sees the Python-level calls that bring a value to the host:
  `.tolist()`, `.item()`, `.numpy()`, `.cpu()`, `.to("cpu")`, `bool()` / `int()` /
  `float()` / `__index__` of a tensor (Python branching on a tensor's value:
  `if t.any():`), and the uploads: `.to(device)` / `.cuda()` of a host tensor,
  `torch.tensor(..., device=...)` and the like (on the CPU a host tensor is any tensor:
  an upload is a call that names a device; without pinned memory and `non_blocking=True`
  each makes the host wait on a GPU); a tensor built from host data without a device is
  host data, not an upload;
- a `TorchDispatchMode` sees every ATen operator dispatched (on a GPU, each one that is
  not a view or a metadata call is a kernel launch), and the operators whose output's
  *shape* depends on the data, which need the values on the host: `nonzero`,
  `masked_select`, `unique`, indexing with a boolean mask, `repeat_interleave` without
  `output_size`; a `_local_scalar_dense` / `item` / `is_nonzero` that no Python call
  above explains (C++ code reading a value) counts too. On CUDA, copies between the host
  and the device are counted from the operators' devices.

`torch.profiler.record_function(name)` regions are honoured: each event and operator is
attributed to the innermost open region (None outside any), so code can label work that
only some steps do (e.g. refilling a cache) and a test can count it apart.

    with Counter() as counts:
        engine.step()
    counts.reads, counts.uploads, counts.ops, counts.by_op.most_common(10)
"""

from __future__ import annotations

import collections
import sys
import weakref
from dataclasses import dataclass, field

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

READ_CALLS = {"tolist", "item", "numpy", "cpu", "__bool__", "__int__", "__float__", "__index__", "__array__"}
UPLOAD_CALLS = {"tensor", "as_tensor", "from_numpy", "new_tensor", "asarray"}
FACTORIES = UPLOAD_CALLS | {"zeros", "ones", "full", "empty", "arange", "eye", "linspace", "rand", "randn", "randint",
                            "randperm", "empty_strided"}
# Operators that are no kernel launch on a GPU: metadata, aliasing, the reads themselves.
NOT_KERNELS = {"lift_fresh", "lift_fresh_copy", "detach", "detach_", "alias", "item", "_local_scalar_dense",
               "is_nonzero", "to", "empty", "empty_strided", "empty_like", "resolve_conj", "resolve_neg",
               "is_same_size", "_has_compatible_shallow_copy_type", "sym_size", "sym_stride", "sym_numel",
               "sym_storage_offset", "set_", "record_stream"}
SHAPE_FROM_DATA = {"nonzero", "masked_select", "_unique", "_unique2", "unique_dim", "unique_consecutive",
                   "argwhere", "nonzero_numpy"}
SCALAR_READS = {"_local_scalar_dense", "item", "is_nonzero", "equal"}
HERE = __file__


@dataclass(frozen=True)
class Event:
    kind: str              # "tolist", "bool", "nonzero", "tensor", "copy to cpu", ...
    where: str             # file:line of the first caller outside torch and this module
    region: str | None     # the innermost record_function region, or None

    def __str__(self) -> str:
        return f"{self.kind} at {self.where}" + (f" [{self.region}]" if self.region else "")


@dataclass
class Counts:
    """What one run of the counted code did."""
    reads: list[Event] = field(default_factory=list)       # device -> host: the host waits
    uploads: list[Event] = field(default_factory=list)     # host -> device
    by_op: collections.Counter = field(default_factory=collections.Counter)       # kernels by name
    by_region: collections.Counter = field(default_factory=collections.Counter)   # kernels by region
    views: int = 0                                         # view and metadata operators (no kernel)

    @property
    def ops(self) -> int:
        """Operators dispatched that launch a kernel on a GPU (views and metadata left out)."""
        return sum(self.by_op.values())

    def ops_outside(self, *regions: str) -> int:
        return self.ops - sum(self.by_region[r] for r in regions)

    def outside(self, events: list[Event], *regions: str) -> list[Event]:
        return [e for e in events if e.region not in regions]

    def summary(self) -> str:
        return (f"{len(self.reads)} reads, {len(self.uploads)} uploads, {self.ops} ops"
                + "".join(f"\n  read: {e}" for e in self.reads) + "".join(f"\n  upload: {e}" for e in self.uploads))


def _caller() -> str:
    """The innermost frame outside torch and this file: the line that asked."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if name != HERE and f"{'/'}torch{'/'}" not in name:
            return f"{name.rsplit('/', 2)[-2]}/{name.rsplit('/', 1)[-1]}:{frame.f_lineno}"
        frame = frame.f_back
    return "?"


def _target(args, kwargs) -> torch.device | None:
    """The device a `Tensor.to(...)` call names, if any."""
    if kwargs.get("device") is not None:
        return torch.device(kwargs["device"])
    for arg in args[1:]:
        if isinstance(arg, (str, torch.device)):
            return torch.device(arg)
        if isinstance(arg, torch.Tensor):
            return arg.device
    return None


class _Functions(TorchFunctionMode):
    def __init__(self, counter: "Counter"):
        super().__init__()
        self.counter = counter

    def _run_explained(self, func, args, kwargs):
        self.counter._explained += 1
        try:
            return func(*args, **kwargs)
        finally:
            self.counter._explained -= 1

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        counter = self.counter
        tensors = [a for a in tree_flatten((args, kwargs))[0] if isinstance(a, torch.Tensor)]
        tensor = args[0] if args and isinstance(args[0], torch.Tensor) else None
        host = bool(tensors) and all(counter.is_host(t) for t in tensors)
        explained = made_on_host = False
        if tensor is not None and name in READ_CALLS:
            if not counter.is_host(tensor):
                counter._event(counter.counts.reads, name.strip("_"))
            explained, made_on_host = True, name == "cpu"
        elif tensor is not None and name in ("to", "cuda"):
            target = _target(args, kwargs) if name == "to" else torch.device("cuda")
            if target is not None and counter.is_host(tensor):             # the host's data to the device
                counter._event(counter.counts.uploads, f"{name}(device)")
                explained = True
            elif target is not None and target.type == "cpu" and tensor.device.type != "cpu":
                counter._event(counter.counts.reads, f"{name}(cpu)")
                explained = made_on_host = True
        elif name in UPLOAD_CALLS and kwargs.get("device") is not None:    # host data built on the device
            counter._event(counter.counts.uploads, f"{name}(device=)")
            explained = True
        elif name in FACTORIES and kwargs.get("device") is None and not tensors:
            made_on_host = True                                              # a host tensor (no device named)
        out = self._run_explained(func, args, kwargs) if explained else func(*args, **kwargs)
        if out is tensor:          # on the CPU, `.cpu()` and `.to(device)` give the tensor itself
            if explained and not made_on_host:
                counter._hosted.pop(id(out), None)   # uploaded: the device's from now on
            return out
        if made_on_host or (host and not explained):
            for t in tree_flatten(out)[0]:
                if isinstance(t, torch.Tensor):
                    counter._hosted[id(t)] = weakref.ref(t)
        return out


class _Operators(TorchDispatchMode):
    def __init__(self, counter: "Counter"):
        super().__init__()
        self.counter = counter

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        counter, counts = self.counter, self.counter.counts
        namespace, name = func.namespace, func._schema.name.split("::")[-1]
        if namespace == "profiler":
            out = func(*args, **kwargs)
            if name == "_record_function_enter_new":
                counter._regions.append(args[0])
            elif name == "_record_function_exit" and counter._regions:
                counter._regions.pop()
            return out
        tensors = [a for a in tree_flatten((args, kwargs))[0] if isinstance(a, torch.Tensor)]
        if tensors and all(counter.is_host(t) for t in tensors):
            pass                                 # the host's own data: nothing to wait for
        elif name in SCALAR_READS and not counter._explained:
            counter._event(counts.reads, name)
        elif name in SHAPE_FROM_DATA or (name == "repeat_interleave" and kwargs.get("output_size") is None
                                          and isinstance(args[0], torch.Tensor) and len(args) < 3):
            counter._event(counts.reads, name)
        elif name in ("index", "index_put", "index_put_", "_index_put_impl_") and any(
                isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in (args[1] or ())):
            counter._event(counts.reads, f"{name} with a boolean mask")
        elif name in ("_to_copy", "copy_") and not counter._explained:
            source = args[1] if name == "copy_" else args[0]
            target = args[0].device if name == "copy_" else kwargs.get("device") or source.device
            if source.device.type != "cpu" and torch.device(target).type == "cpu":
                counter._event(counts.reads, "copy to cpu")
            elif source.device.type == "cpu" and torch.device(target).type != "cpu":
                counter._event(counts.uploads, "copy to device")
        if func.is_view or name in NOT_KERNELS:
            counts.views += 1
        else:
            counts.by_op[f"{namespace}::{name}"] += 1
            counts.by_region[counter._regions[-1] if counter._regions else None] += 1
        return func(*args, **kwargs)


class Counter:
    """A context manager: the reads, uploads and operators of the code run inside it (`counts`).

    Which tensors are the host's: on a GPU, those on the CPU; on the CPU, those the counted
    code made without naming a device (`torch.tensor(data)`, `torch.zeros(n)`), got from
    `.cpu()`, or computed from host tensors only. Every other tensor (made before, or with
    `device=`) stands for one on the device."""

    def __init__(self):
        self.counts = Counts()
        self._regions: list[str] = []
        self._explained = 0
        self._hosted: dict[int, weakref.ref] = {}
        self._gpu = torch.cuda.is_available()
        self._modes = (_Functions(self), _Operators(self))

    def is_host(self, tensor: torch.Tensor) -> bool:
        if tensor.device.type != "cpu":
            return False
        if self._gpu:
            return True
        ref = self._hosted.get(id(tensor))
        return ref is not None and ref() is tensor

    def _event(self, events: list[Event], kind: str) -> None:
        events.append(Event(kind, _caller(), self._regions[-1] if self._regions else None))

    def __enter__(self) -> Counts:
        for mode in self._modes:
            mode.__enter__()
        return self.counts

    def __exit__(self, *exc) -> None:
        for mode in reversed(self._modes):
            mode.__exit__(*exc)
