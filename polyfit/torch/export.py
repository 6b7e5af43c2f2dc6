"""Deployment: export a finalized model to ONNX, bundle each site's artifact.

- :func:`~polyfit.torch.finalize` (in :mod:`polyfit.torch.inference`) turns a training-time
  model into its inference form first.
- :func:`export_onnx` writes an ONNX file through torch's TorchScript exporter and checks
  that the graph holds only arithmetic HE/MPC can evaluate (Add, Mul, MatMul/Gemm, Conv,
  average pooling …) plus layout ops (Reshape, Flatten …). When the ``onnx`` package is
  absent, torch's exporter still serialises the model in C++ but then calls ``onnx`` only
  to splice in onnxscript functions, which these models never contain; that one step is
  bypassed for the duration of the export. :func:`onnx_op_types` reads the op types back
  from the protobuf wire format directly, so no ``onnx`` package is needed at all.
- :func:`save_bundle` writes a JSON file with each site's artifact (SPEC §3 dicts).
"""
from __future__ import annotations

import contextlib
import json
import warnings
from pathlib import Path

import torch
from torch import nn

from ..atomic import atomic_write_bytes, atomic_write_text
from ..errors import ComputationError, InputError
from .inference import finalize, fold_batchnorm  # noqa: F401  (public names, once defined here)

#: Arithmetic ops a polynomial network exports to (plaintext-ciphertext or ciphertext products and sums).
ARITHMETIC_OPS = frozenset({"Add", "Sub", "Mul", "Neg", "Sum", "MatMul", "Gemm", "Conv", "ConvTranspose",
                            "AveragePool", "GlobalAveragePool", "BatchNormalization"})
#: Data-movement ops (no arithmetic on values).
LAYOUT_OPS = frozenset({"Constant", "Identity", "Flatten", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Concat",
                        "Split", "Slice", "Gather", "Shape", "Pad", "Expand", "ConstantOfShape", "Cast", "Dropout"})
ALLOWED_OPS = ARITHMETIC_OPS | LAYOUT_OPS


# -- ONNX -----------------------------------------------------------------------------------------

@contextlib.contextmanager
def _exporter_without_onnx_package():
    """Skip torch's onnxscript-function splicing (the only step needing ``onnx``) if onnx is absent."""
    try:
        import onnx  # noqa: F401

        yield
        return
    except ImportError:
        pass
    try:
        from torch.onnx._internal.torchscript_exporter import onnx_proto_utils

        original = onnx_proto_utils._add_onnxscript_fn
    except (ImportError, AttributeError):
        raise ComputationError("ONNX export without the 'onnx' package relies on a torch internal that this torch "
                               f"{torch.__version__} lacks; install it with: pip install onnx") from None
    onnx_proto_utils._add_onnxscript_fn = lambda model_bytes, custom_opsets: model_bytes
    try:
        yield
    finally:
        onnx_proto_utils._add_onnxscript_fn = original


def onnx_model_bytes(model: nn.Module, example_inputs, *, opset_version: int = 17, dynamic_batch: bool = True) -> bytes:
    """Serialised ONNX ModelProto of ``model`` (eval mode) traced on ``example_inputs``."""
    import io

    check_opset(opset_version)
    args = example_inputs if isinstance(example_inputs, tuple) else (example_inputs,)
    names = [f"input_{i}" for i in range(len(args))] if len(args) > 1 else ["input"]
    axes = {n: {0: "batch"} for n in names} | {"output": {0: "batch"}} if dynamic_batch else None
    buffer = io.BytesIO()
    was_training = model.training
    model.eval()
    try:
        with _exporter_without_onnx_package(), warnings.catch_warnings(), _stderr_silenced():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, args, buffer, dynamo=False, opset_version=opset_version, input_names=names,
                              output_names=["output"], dynamic_axes=axes)
    except (RuntimeError, torch.onnx.OnnxExporterError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        hint = ("; finalize(model, example_inputs=...) turns adaptive pools into fixed ones for that input size"
                if "adaptive" in message else "")
        raise ComputationError(f"ONNX export failed: {message}{hint}") from None
    finally:
        model.train(was_training)
    return buffer.getvalue()


def check_opset(opset_version) -> int:
    """An ONNX opset the installed torch exporter writes: an integer in its [min, max] (7 … 23
    for torch 2.13); a float, a string or a bool gave a TypeError or a file of opset 1."""
    try:
        from torch.onnx import _constants

        lo, hi = int(_constants.ONNX_MIN_OPSET), int(_constants.ONNX_MAX_OPSET)
    except (ImportError, AttributeError):
        lo, hi = 7, 20
    if isinstance(opset_version, bool) or not isinstance(opset_version, int) or not lo <= opset_version <= hi:
        raise InputError(f"opset_version {opset_version!r} is not allowed; allowed: integers {lo} to {hi}")
    return opset_version


@contextlib.contextmanager
def _stderr_silenced():
    """Send file descriptors 1 and 2 to a temporary file while torch's exporter runs: on a
    failure its C++ side dumps the whole TorchScript graph ("Torch IR graph at exception",
    on stdout), which the one-line error replaces."""
    import os
    import sys
    import tempfile

    saved = [os.dup(1), os.dup(2)]
    try:
        with tempfile.TemporaryFile() as sink:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
    finally:
        for fd in saved:
            os.close(fd)


def onnx_op_types(model_bytes: bytes) -> list[str]:
    """Op types of the main graph's nodes, in order, read from the protobuf wire format.

    ModelProto.graph is field 7, GraphProto.node field 1, NodeProto.op_type field 4.
    """
    graph = _fields(model_bytes).get(7)
    if not graph:
        raise InputError("not an ONNX model: no graph field")
    return [_fields(node)[4][0].decode("utf-8") for node in _fields(graph[0]).get(1, [])]


def _fields(data: bytes) -> dict[int, list[bytes]]:
    """Length-delimited fields of one protobuf message: {field number: [payloads]}."""
    out: dict[int, list[bytes]] = {}
    i, n = 0, len(data)
    while i < n:
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, i = _varint(data, i)
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        elif wire == 2:
            length, i = _varint(data, i)
            out.setdefault(number, []).append(data[i:i + length])
            i += length
        else:
            raise InputError(f"not an ONNX model: unsupported protobuf wire type {wire}")
    return out


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(data):
            raise InputError("not an ONNX model: truncated protobuf")
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i
        shift += 7


def export_onnx(model: nn.Module, example_inputs, path, *, opset_version: int = 17, allowed_ops=ALLOWED_OPS,
                check: bool = True) -> list[str]:
    """Write ``model`` as ONNX to ``path`` (atomically); returns the graph's op types.

    With ``check`` (default) raise :class:`ComputationError` naming any op outside
    ``allowed_ops`` (e.g. a ReLU or Max left behind) and write nothing.
    """
    data = onnx_model_bytes(model, example_inputs, opset_version=opset_version)
    ops = onnx_op_types(data)
    if check:
        bad = sorted(set(ops) - set(allowed_ops))
        if bad:
            raise ComputationError(f"the exported graph uses non-polynomial ops {', '.join(bad)}; "
                                   f"allowed: arithmetic {', '.join(sorted(ARITHMETIC_OPS))} and layout ops")
    atomic_write_bytes(path, data)
    return ops


# -- JSON bundle ----------------------------------------------------------------------------------

BUNDLE_SCHEMA = "polyfit/torch-bundle"
BUNDLE_VERSION = "1.0"


def bundle(model: nn.Module, *, example_inputs=None, quadratic_domain=(-1.0, 1.0), onnx_file: str | None = None) -> dict:
    """The bundle as a dict: every polynomial site with its artifact(s), in execution order.

    Sites: PolyActivation (one artifact, or one per channel), TrainableQuadratic (an
    artifact on ``quadratic_domain``, or ``{name: domain}``), ApproxMinMaxNorm (its affine
    eval-mode map), SignMaxPool2d (its comparator's artifact and scale). With
    ``example_inputs`` the order is the dry run's execution order, else module order.
    """
    from ..artifact import to_dict
    from .activations import PolyActivation
    from .norm import ApproxMinMaxNorm
    from .pooling import SignMaxPool2d
    from .quadratic import TrainableQuadratic

    from .surgery import _static_sites, find_sites

    kinds = (PolyActivation, TrainableQuadratic, ApproxMinMaxNorm, SignMaxPool2d)
    names = [s.name for s in _static_sites(model, kinds)]  # outermost only: a pool's comparator is no site
    if example_inputs is not None:
        ran = [s.name for s in find_sites(model, example_inputs, kinds=kinds) if s.reachable]
        names = ran + [n for n in names if n not in ran]
    sites = []
    for name in names:
        module = model.get_submodule(name)
        entry: dict = {"name": name, "type": type(module).__name__}
        if isinstance(module, PolyActivation):
            entry["channel_dim"] = module.channel_dim
            entry["artifacts"] = [to_dict(a) for a in module.to_approximations()]
        elif isinstance(module, TrainableQuadratic):
            domain = quadratic_domain.get(name) if isinstance(quadratic_domain, dict) else quadratic_domain
            if module.channel_dim is None:
                if domain is None and isinstance(quadratic_domain, dict):  # a missing site silently used [-1, 1]
                    raise InputError(f"quadratic_domain has no domain for TrainableQuadratic site {name!r}; it covers "
                                     f"{', '.join(map(repr, quadratic_domain)) or 'nothing'}")
                entry["artifacts"] = [to_dict(module.to_approximation(domain))]
            else:
                entry["channel_dim"] = module.channel_dim
                entry["coefficients"] = {"a": module.a.tolist(), "b": module.b.tolist(),
                                         "c": module.c.tolist() if module.c is not None else None}
        elif isinstance(module, ApproxMinMaxNorm):
            entry["channel_dim"] = module.channel_dim
            entry["mode"] = module.mode
            if module.mode != "batch":
                a, b = module.affine()
                entry["affine"] = {"scale": a.tolist(), "shift": b.tolist()}
        else:  # SignMaxPool2d
            entry.update(kind=module.kind, scale=module.scale, kernel_size=list(module.kernel_size),
                         stride=list(module.stride))
            if isinstance(module.comparator, PolyActivation):
                entry["artifacts"] = [to_dict(module.comparator.to_approximation())]
        sites.append(entry)
    from .._version import __version__

    out = {"schema": BUNDLE_SCHEMA, "schema_version": BUNDLE_VERSION, "polyfit_version": __version__,
           "sites": sites}
    if onnx_file:
        out["onnx"] = onnx_file
    return out


def save_bundle(model: nn.Module, path, **kwargs) -> str:
    """Write :func:`bundle` as JSON atomically; returns the path."""
    return atomic_write_text(path, json.dumps(bundle(model, **kwargs), indent=2, allow_nan=False) + "\n")


def load_bundle(path) -> dict:
    """Read a bundle: ``{"sites": [{"name", "type", "approximations": [Approximation, ...]}, ...], ...}``.

    The file is read by :func:`polyfit.jsonio.read_json` and every site's keys are type-checked
    (:func:`bundle_shape`); each artifact is validated as :func:`polyfit.load` would.
    """
    from ..artifact import from_dict
    from ..errors import ArtifactError
    from ..jsonio import read_json

    data = read_json(path, "bundle")
    if not isinstance(data, dict) or data.get("schema") != BUNDLE_SCHEMA:
        raise ArtifactError(f"{str(path)!r} is not a polyfit torch bundle (schema {BUNDLE_SCHEMA!r})")
    try:
        bundle_shape()(data, "")
        for i, site in enumerate(data.get("sites", [])):
            approximations = []
            for j, artifact in enumerate(site.get("artifacts") or []):
                try:
                    approximations.append(from_dict(artifact))
                except ArtifactError as exc:
                    raise ArtifactError(f"sites[{i}].artifacts[{j}]: {exc}") from None
            site["approximations"] = approximations
    except ArtifactError as exc:
        raise ArtifactError(f"invalid bundle {str(path)!r}: {exc}") from None
    return data


def bundle_shape():
    """The jsonio checker of a bundle file (artifacts are checked by artifact.from_dict)."""
    from .. import jsonio

    text, dims = jsonio.string(200), jsonio.optional(jsonio.array(jsonio.integer(1, 2**20), 1, 3))
    site = jsonio.obj({
        "name": jsonio.string(1000), "type": text, "channel_dim": jsonio.optional(jsonio.integer(-64, 64)),
        "artifacts": jsonio.optional(jsonio.array(jsonio.obj(), 0, 10**5)),
        "coefficients": jsonio.optional(jsonio.obj({"a": jsonio.tensor(), "b": jsonio.tensor(),
                                                    "c": jsonio.optional(jsonio.tensor())})),
        "mode": jsonio.optional(text),
        "affine": jsonio.optional(jsonio.obj({"scale": jsonio.tensor(), "shift": jsonio.tensor()},
                                             required=("scale", "shift"))),
        "kind": jsonio.optional(text), "scale": jsonio.optional(jsonio.number()),
        "kernel_size": dims, "stride": dims,
    }, required=("name", "type"))
    return jsonio.obj({
        "schema_version": jsonio.version(int(BUNDLE_VERSION.split(".")[0]), "bundles"),
        "polyfit_version": jsonio.optional(jsonio.string(100)),
        "sites": jsonio.array(site, 0, 10**5), "onnx": jsonio.optional(jsonio.string(4096)),
    }, required=("schema_version", "sites"))
