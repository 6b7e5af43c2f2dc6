"""Issue 9 §5 (files): every section of an artifact, search history and torch bundle is
type-checked; nesting and sizes are bounded; nothing is coerced silently. Each bad file is
one ArtifactError (CLI: exit 2, one line, no traceback)."""
import json

import pytest

import polyfit as pf


@pytest.fixture(scope="module")
def artifact():
    return pf.fit("relu", 4, 5, bits=10).to_dict()


def _set(path, value):
    def mutate(d):
        *head, last = path
        for key in head:
            d = d[key]
        d[last] = value
    return mutate


BAD_ARTIFACTS = {
    "coefficient string": (_set(("stages", 0, "coefficients", 1), "0.5"), r"stages\[0\].coefficients\[1\] must be a finite number"),
    "coefficient boolean": (_set(("stages", 0, "coefficients", 1), True), r"coefficients\[1\] must be a finite number, got true"),
    "integers as floats": (_set(("stages", 0, "quantized", "integers", 0), 322.0), r"integers\[0\] must be an integer"),
    "integers as strings": (_set(("stages", 0, "quantized", "integers", 0), "322"), r"integers\[0\] must be an integer"),
    "degree 4.9": (_set(("stages", 0, "degree"), 4.9), r"stages\[0\].degree must be an integer from 0 to 1000, got 4.9"),
    "degree as text": (_set(("stages", 0, "degree"), "4"), r"stages\[0\].degree must be an integer"),
    "degree over 1000": (lambda d: d["stages"][0].update(degree=1001, coefficients=[0.0] * 1002, quantized=None),
                         r"degree must be an integer from 0 to 1000"),
    "numeric schema_version": (_set(("schema_version",), 1.0), r"schema_version must be a string \"MAJOR.MINOR\""),
    "frac_bits as float": (_set(("stages", 0, "quantized", "frac_bits"), 10.0), r"frac_bits must be an integer"),
    "interval of three": (_set(("stages", 0, "interval"), [-1, 0, 1]), r"interval must be a list of 2 entries"),
    "domain with text": (_set(("domain",), [-5, "5"]), r"domain\[1\] must be a finite number"),
    "input_scale as text": (_set(("input_scale",), "1"), r"input_scale must be a finite number"),
    "metrics as list": (_set(("metrics",), [1, 2]), r"metrics must be an object, got a list of 2"),
    "metric as text": (_set(("metrics", "max_abs_error"), "0.3"), r"metrics.max_abs_error must be a finite number"),
    "huge metric grid": (_set(("metrics", "grid_points"), 10**12), r"metrics.grid_points must be an integer from 2 to 1e\+06"),
    "depth as text": (_set(("depth",), "3"), r"depth must be an object"),
    "depth without backends": (lambda d: d["depth"].pop("backends"), r"depth is missing 'backends'"),
    "levels as float": (_set(("depth", "ckks_levels"), 3.5), r"depth.ckks_levels must be an integer"),
    "fits as text": (_set(("precision", "fits"), "yes"), r"precision.fits must be true or false"),
    "provenance as list": (_set(("provenance",), ["exact"]), r"provenance must be an object"),
    "warnings as text": (_set(("provenance", "warnings"), "careful"), r"provenance.warnings must be a list"),
    "terminal escape in name": (_set(("target", "name"), "\x1b[2Jrelu"), r"target.name must be printable text"),
    "expr as number": (_set(("target", "expr"), 3), r"target.expr must be printable text"),
    "stages as object": (_set(("stages",), {"0": {}}), r"stages must be a list of 1 to 64 entries"),
    "combine unknown": (_set(("combine",), "max"), r"combine must be one of 'none', 'relu', 'abs', 'step'"),
}


@pytest.mark.parametrize("case", sorted(BAD_ARTIFACTS))
def test_malformed_artifact_section_is_one_error(case, artifact, tmp_path, cli):
    mutate, message = BAD_ARTIFACTS[case]
    data = json.loads(json.dumps(artifact))
    mutate(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(pf.ArtifactError, match=message):
        pf.load(path)
    code, out, err = cli("report", str(path))
    assert code == 2 and out == "" and err.count("\n") == 1 and "invalid artifact" in err


BAD_TEXTS = {
    "10^5-deep nesting": ("[" * 10**5 + "]" * 10**5, "nested more than 64 levels deep"),
    "deep object in provenance": (None, "nested more than 64 levels deep"),
    "NaN literal": (None, "the literal NaN is not JSON"),
    "Infinity literal": (None, "the literal -Infinity is not JSON"),
    "overflowing number": (None, "number 1e999 overflows float64"),
    "duplicate key": (None, "duplicate key 'domain'"),
    "huge integer literal": (None, "has more than 40 digits"),
}


def _bad_text(case, artifact):
    text = json.dumps(artifact)
    if case == "deep object in provenance":
        return text.replace('"provenance": {', '"provenance": {"x": ' + '{"a": ' * 100 + "1" + "}" * 100 + ", ", 1)
    if case == "NaN literal":
        return text.replace('"max_abs_error": 0.314453125', '"max_abs_error": NaN')
    if case == "Infinity literal":
        return text.replace('"max_abs_error": 0.314453125', '"max_abs_error": -Infinity')
    if case == "overflowing number":
        return text.replace('"input_scale": 1.0', '"input_scale": 1e999')
    if case == "duplicate key":
        return text.replace('"domain": [-5.0, 5.0]', '"domain": [-5.0, 5.0], "domain": [-1.0, 1.0]')
    if case == "huge integer literal":
        return text.replace('"grid_points": 10001', '"grid_points": 1' + "0" * 5000)
    return BAD_TEXTS[case][0]


@pytest.mark.parametrize("case", sorted(BAD_TEXTS))
def test_json_reader_refuses(case, artifact, tmp_path, cli):
    path = tmp_path / "bad.json"
    text = _bad_text(case, artifact)
    assert text != json.dumps(artifact)
    path.write_text(text)
    with pytest.raises(pf.ArtifactError, match=BAD_TEXTS[case][1]):
        pf.load(path)
    code, _, err = cli("verify", str(path), "--backend", "fixed-point")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err


def test_oversized_file_is_refused_before_parsing(artifact, tmp_path, monkeypatch):
    path = tmp_path / "big.json"
    from polyfit import jsonio

    path.write_text(json.dumps(artifact) + " " * 2000)
    monkeypatch.setattr(jsonio, "MAX_BYTES", 1024)
    with pytest.raises(pf.ArtifactError, match="larger than"):
        pf.load(path)


def test_non_utf8_file_is_refused(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes('{"schema": "caf\xe9"}'.encode("latin-1"))
    with pytest.raises(pf.ArtifactError, match="not UTF-8"):
        pf.load(path)


def test_every_artifact_polyfit_writes_passes_its_own_reader(tmp_path):
    for approx in (pf.fit("relu", 4, 5, bits=10), pf.fit("tanh", 9, 4, method="minimax"),
                   pf.fit("gelu", 8, 4, basis="chebyshev"), pf.taylor("silu", 6), pf.composite(alpha=6, function="relu"),
                   pf.fit(pf.expr("x*tanh(x)"), 4, 2)):
        back = pf.load(approx.save(tmp_path / "a.json"))
        assert back.to_dict() == approx.to_dict()


# -- search histories ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def history():
    pytest.importorskip("botorch")
    result = pf.search("relu", degrees="2-4", strategy="random", budget=3, progress=False, seed=0)
    return result.to_dict()


BAD_HISTORIES = {
    "degree 4.9": (_set(("evaluations", 0, "degree"), 4.9), r"evaluations\[0\].degree must be an integer"),
    "score as text": (_set(("evaluations", 0, "score"), "1.5"), r"evaluations\[0\].score must be a finite number"),
    "space degrees as text": (_set(("space", "degrees"), ["3"]), r"space.degrees\[0\] must be an integer"),
    "numeric schema_version": (_set(("schema_version",), 1), r"schema_version must be a string"),
    "evaluations as object": (_set(("evaluations",), {}), r"evaluations must be a list"),
    "best with coefficient text": (_set(("best", "stages", 0, "coefficients", 0), "0.1"),
                                   r"best: stages\[0\].coefficients\[0\] must be a finite number"),
    "range not positive": (_set(("evaluations", 0, "range"), -1.0), r"evaluations\[0\].range must be a finite number > 0"),
}


@pytest.mark.parametrize("case", sorted(BAD_HISTORIES))
def test_malformed_search_history_is_one_error(case, history, tmp_path):
    from polyfit.solvers.search import load_result

    mutate, message = BAD_HISTORIES[case]
    data = json.loads(json.dumps(history))
    mutate(data)
    path = tmp_path / "h.json"
    path.write_text(json.dumps(data))
    with pytest.raises(pf.ArtifactError, match="invalid search history .*" + message):
        load_result(path)


def test_deep_search_history_is_refused(tmp_path):
    from polyfit.solvers.search import load_result

    path = tmp_path / "h.json"
    path.write_text('{"a": ' * 10**5 + "1" + "}" * 10**5)
    with pytest.raises(pf.ArtifactError, match="nested more than"):
        load_result(path)


# -- torch bundles ------------------------------------------------------------------------
def _bundle(artifact):
    return {"schema": "polyfit/torch-bundle", "schema_version": "1.0", "polyfit_version": "0.1.0",
            "sites": [{"name": "act", "type": "PolyActivation", "channel_dim": None,
                       "artifacts": [json.loads(json.dumps(artifact))]}]}


BAD_BUNDLES = {
    "sites as text": (_set(("sites",), "act"), r"sites must be a list"),
    "channel_dim 1.5": (_set(("sites", 0, "channel_dim"), 1.5), r"sites\[0\].channel_dim must be an integer"),
    "numeric schema_version": (_set(("schema_version",), 1.0), r"schema_version must be a string"),
    "artifact degree 4.9": (_set(("sites", 0, "artifacts", 0, "stages", 0, "degree"), 4.9),
                            r"sites\[0\].artifacts\[0\]: stages\[0\].degree must be an integer"),
    "affine scale as text": (_set(("sites", 0, "affine"), {"scale": ["1"], "shift": [0.0]}), r"affine.scale\[0\] must be a finite number"),
    "site without name": (lambda d: d["sites"][0].pop("name"), r"sites\[0\] is missing 'name'"),
}


@pytest.mark.parametrize("case", sorted(BAD_BUNDLES))
def test_malformed_bundle_is_one_error(case, artifact, tmp_path):
    pytest.importorskip("torch")
    from polyfit.torch import load_bundle

    mutate, message = BAD_BUNDLES[case]
    data = _bundle(artifact)
    mutate(data)
    path = tmp_path / "b.json"
    path.write_text(json.dumps(data))
    with pytest.raises(pf.ArtifactError, match="invalid bundle .*" + message):
        load_bundle(path)


def test_deep_bundle_is_refused(tmp_path):
    pytest.importorskip("torch")
    from polyfit.torch import load_bundle

    path = tmp_path / "b.json"
    path.write_text("[" * 10**5 + "]" * 10**5)
    with pytest.raises(pf.ArtifactError, match="nested more than"):
        load_bundle(path)


def test_valid_bundle_still_loads(artifact, tmp_path):
    pytest.importorskip("torch")
    from polyfit.torch import load_bundle

    path = tmp_path / "b.json"
    path.write_text(json.dumps(_bundle(artifact)))
    loaded = load_bundle(path)
    assert loaded["sites"][0]["approximations"][0].stages[0].quantized.integers == (322, 512, 160, 0, -3)


def _leaves(data, path=()):
    """Every key path of an artifact, except free-form parts (objective, options, candidate lists)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key in ("objective", "options", "candidates", "prescale"):
                continue
            yield path + (key,)
            yield from _leaves(value, path + (key,))
    elif isinstance(data, list) and data:
        yield path + (0,)
        yield from _leaves(data[0], path + (0,))


@pytest.mark.slow
def test_no_wrong_type_anywhere_in_an_artifact_gives_a_traceback(artifact, tmp_path, cli):
    """Each key replaced by text or null: report exits 0, 1 or 2 with a one-line error, never raises."""
    path = tmp_path / "f.json"
    for where in _leaves(artifact):
        for value in ("x", None):
            data = json.loads(json.dumps(artifact))
            _set(where, value)(data)
            path.write_text(json.dumps(data))
            code, _, err = cli("report", str(path))  # an uncaught exception would escape cli()
            assert code in (0, 1, 2), (where, value, code)
            assert code != 2 or err.count("\n") == 1, (where, value, err)
