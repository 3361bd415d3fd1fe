"""Tuning the Llama scorer (rca_lsp/ranker/tune.py) on a tiny random Llama, with real peft, real
optimum export and real ONNX Runtime: training resumes to the same weights, the merged export scores
exactly what the trained torch model scores, and the relevance formulation is what both compute."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("peft")
pytest.importorskip("optimum.exporters.onnx")

from rca_lsp.ranker import tune  # noqa: E402
from rca_lsp.ranker.export import export_tuned, tiny_model, tiny_tokenizer_json  # noqa: E402
from rca_lsp.ranker.score import Codec, answer_tokens, relevance  # noqa: E402

WORDS = ["parse", "split", "join", "trim", "pad", "strip", "index", "count"]


def examples(n: int = 6) -> list[tune.Example]:
    """Cases whose culprit is the candidate that names the failing function: learnable in a few steps."""
    out = []
    for i in range(n):
        word = WORDS[i % len(WORDS)]
        cands = [f"Change {w}\n--- a.py\n@@ -1 +1 @@\n-{w}(x)\n+{w}(y)" for w in WORDS if w != word][:4]
        label = i % 5
        cands.insert(label, f"Change {word}\n--- a.py\n@@ -1 +1 @@\n-{word}(x)\n+{word}(y)")
        out.append(tune.Example(f"c{i}", "p", f"AssertionError in {word}\n  at {word}(a.py:1)",
                                f"def test_{word}():\n    assert {word}(1) == 2", cands, label))
    return out


@pytest.fixture()
def codec():
    return Codec(tiny_tokenizer_json())


def settings(**kw) -> tune.Settings:
    return tune.Settings(rank=4, alpha=8, dropout=0.1, targets=["q_proj", "v_proj"], lr=1e-2, group=4,
                         save_every=2, **kw)


def test_examples_round_trip_and_bad_lines_are_named(tmp_path):
    path = tmp_path / "ex.jsonl"
    rows = examples(2)
    path.write_text("".join(json.dumps(e.__dict__) + "\n" for e in rows), encoding="utf-8")
    assert tune.read_examples(path) == rows
    path.write_text(json.dumps({**rows[0].__dict__, "label": 9}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"ex.jsonl:1: label 9 outside its 5 candidates"):
        tune.read_examples(path)


def test_pick_always_keeps_the_culprit_and_depends_only_on_the_step():
    exs, s = examples(), settings()
    for step in range(20):
        ex, which = tune.pick(exs, step, s)
        assert ex.label in which and len(which) == s.group and which == sorted(which)
        assert tune.pick(exs, step, s) == (ex, which)
    # one pass over the data visits every case once
    assert sorted(tune.pick(exs, step, s)[0].case_id for step in range(6)) == sorted(e.case_id for e in exs)


def test_a_resumed_run_reaches_the_weights_of_an_unbroken_one(tmp_path, codec):
    import torch

    exs = examples()
    straight = tune.with_lora(tiny_model(3), settings())
    done = tune.train(straight, codec, exs, tmp_path / "a", 6, settings())
    broken = tune.with_lora(tiny_model(3), settings())
    tune.train(broken, codec, exs, tmp_path / "b", 4, settings())  # stopped after 4 steps
    resumed = tune.with_lora(tiny_model(3), settings())  # a new process: fresh model, state from disk
    said: list[str] = []
    again = tune.train(resumed, codec, exs, tmp_path / "b", 6, settings(), say=said.append)
    assert said[0].startswith("resumed at step 4")
    assert again.losses == pytest.approx(done.losses, abs=1e-6) and again.step == 6
    a = {k: v for k, v in straight.state_dict().items() if "lora" in k}
    b = {k: v for k, v in resumed.state_dict().items() if "lora" in k}
    assert a and all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    with pytest.raises(ValueError, match="other settings"):
        tune.train(tune.with_lora(tiny_model(3), settings(seed=2)), codec, exs, tmp_path / "b", 8, settings(seed=2))


def test_foreign_failures_come_from_the_same_project_and_depend_only_on_the_step():
    exs = examples(6) + [tune.Example("q0", "q", "KeyError: 'x'", "", ["c"], 0)]
    s = settings(contrast=2)
    for step in range(10):
        got = tune.foreign(exs, exs[0], step, s)
        assert len(got) == 2 and all(e.project == "p" and e.case_id != "c0" for e in got)
        assert got == tune.foreign(exs, exs[0], step, s)
    assert tune.foreign(exs, exs[-1], 0, s)  # the only case of its project: others' failures then
    assert tune.foreign(exs, exs[0], 0, settings()) == []  # off by default: no draws at all


def test_whole_sequences_in_one_batch_score_what_the_shared_prefix_scores(codec):
    import torch

    exs = examples()
    model = tiny_model(4).eval()
    with torch.no_grad():
        for ex in exs[:3]:
            which = list(range(len(ex.candidates)))
            shared, n_shared = tune.group_scores(model, codec, ex, which)
            # rows of different lengths, so the padding and the per-row last token are exercised
            rows = [(ex.failure, ex.test, ex.candidates[j]) for j in which] + [(exs[5].failure, "", "x")]
            flat, n_flat = tune.flat_scores(model, codec, rows)
            assert torch.allclose(shared, flat[:-1], atol=1e-4)
            assert n_flat > n_shared  # the prefix counted once a row
            alone, _ = tune.flat_scores(model, codec, rows[-1:])
            assert torch.allclose(alone, flat[-1:], atol=1e-4)  # the padding of the others changes nothing


def test_negatives_hold_the_foreign_failures_then_the_clean_commit_where_there_is_one():
    exs = examples()
    seeded = tune.Example("s", "p", "IndexError", "def test(): pass", ["good", "bad(x)"], 1, culprit_clean="bad(y)")
    exs.append(seeded)
    assert tune.negatives(exs, seeded, 0, settings()) == []
    assert tune.negatives(exs, seeded, 0, settings(clean=True)) == [("IndexError", "def test(): pass", "bad(y)")]
    rows = tune.negatives(exs, seeded, 3, settings(contrast=2, clean=True))
    assert len(rows) == 3 and all(r[2] == "bad(x)" and r[0] != "IndexError" for r in rows[:2])
    assert rows[2] == ("IndexError", "def test(): pass", "bad(y)")
    assert tune.negatives(exs, exs[0], 0, settings(clean=True)) == []  # no clean text: nothing drawn


@pytest.mark.parametrize("flat", [False, True])
def test_a_run_with_every_negative_resumes_to_the_weights_of_an_unbroken_one(tmp_path, codec, flat):
    import torch

    exs = [tune.Example(e.case_id, e.project, e.failure, e.test, e.candidates, e.label,
                        culprit_clean=e.candidates[e.label].replace("(y)", "(x)")) for e in examples()]
    s = settings(contrast=1, clean=True, flat=flat)
    straight = tune.with_lora(tiny_model(3), s)
    done = tune.train(straight, codec, exs, tmp_path / "a", 5, s)
    tune.train(tune.with_lora(tiny_model(3), s), codec, exs, tmp_path / "b", 2, s)
    resumed = tune.with_lora(tiny_model(3), s)
    again = tune.train(resumed, codec, exs, tmp_path / "b", 5, s)
    assert again.losses == pytest.approx(done.losses, abs=1e-6)
    a = {k: v for k, v in straight.state_dict().items() if "lora" in k}
    b = {k: v for k, v in resumed.state_dict().items() if "lora" in k}
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    # a group of 4 candidates, one foreign failure and the clean commit: chance is ln 6
    assert abs(done.losses[0] - __import__("math").log(6)) < 1.0


def test_a_checkpoint_from_before_a_setting_existed_resumes_with_its_default(tmp_path, codec):
    import torch

    exs = examples()
    tune.train(tune.with_lora(tiny_model(3), settings()), codec, exs, tmp_path, 2, settings())
    state = torch.load(tmp_path / tune.CHECKPOINT, weights_only=False)
    del state["settings"]["contrast"]  # as an older version wrote it
    torch.save(state, tmp_path / tune.CHECKPOINT)
    said: list[str] = []
    tune.train(tune.with_lora(tiny_model(3), settings()), codec, exs, tmp_path, 3, settings(), say=said.append)
    assert said[0].startswith("resumed at step 2")
    with pytest.raises(ValueError, match="other settings"):  # but a real difference still refuses
        tune.train(tune.with_lora(tiny_model(3), settings(contrast=1)), codec, exs, tmp_path, 4, settings(contrast=1))


def test_contrast_teaches_the_culprit_to_score_under_its_own_failure_above_others(tmp_path, codec):
    import torch

    exs = examples()
    model = tune.with_lora(tiny_model(5), settings(contrast=2))

    def gaps() -> list[float]:
        """The culprit's score under its own failure less its score under the next case's."""
        model.eval()
        out = []
        with torch.no_grad():
            for i, ex in enumerate(exs):
                other = exs[(i + 1) % len(exs)]
                own = tune.group_scores(model, codec, ex, [ex.label])[0].item()
                swapped = tune.Example(ex.case_id, ex.project, other.failure, other.test, [ex.candidates[ex.label]], 0)
                out.append(own - tune.group_scores(model, codec, swapped, [0])[0].item())
        model.train()
        return out

    before = gaps()
    progress = tune.train(model, codec, exs, tmp_path / "run", 120, settings(contrast=2))
    after = gaps()
    assert progress.tokens > 0
    assert sum(after) > sum(before) + 1 and sum(g > 0 for g in after) > len(exs) / 2


def test_training_teaches_the_tiny_model_and_the_merged_onnx_scores_what_torch_scores(tmp_path, codec):
    import torch

    from rca_lsp.ranker.session import LogProbModel

    exs = examples()
    model = tune.with_lora(tiny_model(5), settings())
    before = sum(tune.rank_of(v, e.label) for e, v in tune.evaluate(model, codec, exs))
    progress = tune.train(model, codec, exs, tmp_path / "run", 60, settings())
    after = sum(tune.rank_of(v, e.label) for e, v in tune.evaluate(model, codec, exs))
    assert progress.tokens > 0 and progress.tokens_per_s > 0
    assert sum(progress.losses[-12:]) < sum(progress.losses[:12])  # the loss falls
    assert after < before  # and the culprits rise (sum of ranks over the cases)
    adapter = tmp_path / "run" / "adapter"
    sums = (adapter / "SHA256SUMS").read_text()
    assert all(name in sums for name in tune.ADAPTER_FILES)

    # what the trained torch model scores ...
    model.eval()
    with torch.no_grad():
        want = tune.group_scores(model, codec, exs[0], list(range(5)))[0].tolist()
    # ... the tuned export (a fresh base with the saved adapter merged) scores through ONNX Runtime
    manifest = export_tuned(tiny_model(5), tiny_tokenizer_json(), adapter, tmp_path / "m", {"kind": "random"},
                            "tiny-tuned", variants=("fp32", "int8"))
    assert manifest.extra["formulation"] == "relevance"
    assert manifest.extra["adapter"]["sha256"] == tune.adapter_digest(adapter)
    onnx = LogProbModel(tmp_path / "m", variant="fp32")
    got = relevance(onnx, exs[0].failure, exs[0].candidates, exs[0].test)
    assert got == pytest.approx(want, abs=1e-4)
    assert answer_tokens(onnx) == answer_tokens(codec)


def test_merge_refuses_what_is_not_an_adapter(tmp_path):
    from rca_lsp.errors import ModelError

    (tmp_path / "adapter_config.json").write_text("{}")
    with pytest.raises(ModelError, match="adapter_model.safetensors missing"):
        tune.merge(tiny_model(0), tmp_path)


def test_examples_from_a_real_case_hold_the_failure_the_test_and_the_culprit(tmp_path, codec):
    """scripts/llm_data.py on the demo repository (real git history, the developer's real failing
    pytest run): what ranking would show the model, with the culprit labelled."""
    import subprocess
    import sys

    from _reliability import load

    demo, llm_data = load("demo_repo"), load("llm_data")
    info = demo.build(tmp_path / "datespan")
    run = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", info["test"]],
                         cwd=info["repo"], capture_output=True, text=True, check=False)
    assert run.returncode == 1, run.stdout
    trace = tmp_path / "failure.txt"
    trace.write_text(run.stdout, encoding="utf-8")
    case = {"case_id": "demo", "project": "datespan", "repo": info["repo"], "trace": str(trace), "bic": info["culprit"]}
    row = llm_data.case_example(case, codec, k=5)
    ex = tune.Example.from_json(json.loads(json.dumps(row)))
    assert len(ex.candidates) == 5 and row["hashes"][ex.label] == info["culprit"]
    assert ex.retrieval_rank == ex.label + 1 and ex.within
    assert ex.failure.startswith("ValueError: day is out of range for month")
    assert ex.test.startswith("def test_parse_february_of_a_century_year():")
    assert ex.candidates[ex.label].startswith("Speed up month_span with a table of month lengths")
    # with k=1 and the culprit below it, the culprit takes the one place and says where it was
    if ex.retrieval_rank > 1:
        one = llm_data.case_example(case, codec, k=1)
        assert one["hashes"] == [info["culprit"]] and one["retrieval_rank"] == ex.retrieval_rank


def test_the_clean_check_undoes_the_seeded_line_only_where_the_model_sees_it(codec):
    from _reliability import load

    llm_data = load("llm_data")
    text = "Speed up parse\n--- a.py\n@@ -3,2 +3,2 @@\n def parse(s):\n-    return s\n+    return s.strip()"
    mutation = {"before": "    return s.strip()", "after": "    return s.strip(' ')"}
    mutant = text.replace("s.strip()", "s.strip(' ')")
    assert llm_data.clean_text(mutant, mutation) == text
    assert llm_data.clean_text(text, mutation) == ""  # the line was cut from what the model reads
    assert llm_data.clean_text(mutant, {}) == ""
    # what the tuned scorer reads is dedented (diffs.compact): the line is found without its indentation
    assert llm_data.clean_text("Fix\n+    if a:\n+return s.strip(' ')", mutation) == "Fix\n+    if a:\n+return s.strip()"
    ex = tune.Example("c", "p", "AssertionError", "", ["Docs", mutant], 1, 1, text)
    [(got, mine, clean)] = list(tune.clean_check(tune.with_lora(tiny_model(1), settings()), codec, [ex]))
    assert got is ex and mine != clean


def test_the_failure_is_said_once_when_two_tests_fail_alike():
    from rca_lsp.ranker.prompt import failure_text
    from rca_lsp.traces import parse as parse_traces

    one = ("_______ test_a _______\n\n    def test_a():\n>       assert f(1) == 2\nE       assert 3 == 2\n\n"
           "tests/test_x.py:4: AssertionError\n")
    raw = ("=================================== FAILURES ===================================\n" + one
           + one.replace("test_a", "test_b") + "=========================== short test summary info ============================\n"
           "FAILED tests/test_x.py::test_a - assert 3 == 2\nFAILED tests/test_x.py::test_b - assert 3 == 2\n")
    traces = parse_traces(raw)
    assert len(traces) >= 2
    text = failure_text(traces, raw)
    assert text.count("AssertionError") == 1 and "test_a" in text


def test_a_tuned_build_ranks_with_the_formulation_it_was_trained_for(tmp_path, codec, capsys):
    """rerank with the default Fusion reads the manifest: a tuned model scores by relevance (the
    demo repository, real git and pytest; a tiny adapter merged and exported through optimum)."""
    import subprocess
    import sys

    from _reliability import load

    from rca_lsp import service
    from rca_lsp.kinds import EvidenceKind
    from rca_lsp.ranker.fusion import Fusion, rerank
    from rca_lsp.ranker.inputs import case_texts
    from rca_lsp.ranker.session import LogProbModel
    from rca_lsp.vcs import open_repo

    info = load("demo_repo").build(tmp_path / "datespan")
    run = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", info["test"]],
                         cwd=info["repo"], capture_output=True, text=True, check=False)
    model = tune.with_lora(tiny_model(2), settings())
    tune.train(model, codec, examples(), tmp_path / "run", 2, settings())
    export_tuned(tiny_model(2), tiny_tokenizer_json(), tmp_path / "run" / "adapter", tmp_path / "m",
                 {"kind": "random"}, "tiny-tuned", variants=("fp32",))
    onnx = LogProbModel(tmp_path / "m", variant="fp32")
    repo = open_repo(info["repo"])
    try:
        result = service.rank(repo, service.Query(run.stdout, top=0))
        ranked = rerank(result, run.stdout, repo, k=5, model=onnx, fusion=Fusion(weight=1.0))
        case = case_texts(result, run.stdout, repo, 5, onnx)
    finally:
        repo.close()
    want = relevance(onnx, case.failure, case.candidates, case.test)
    order = sorted(range(5), key=lambda i: (-(result.suspects[i].score + result.suspects[0].score
                                              * _z(want)[i]), i))
    assert [s.commit.hash for s in ranked.suspects[:5]] == [result.suspects[i].commit.hash for i in order]
    said = [e.text for e in ranked.suspects[0].evidence if e.kind == EvidenceKind.MODEL]
    assert said and "tuned language model" in said[0]
    # llm_train eval --onnx ranks the held-out examples through the built model as ranking does
    data = tmp_path / "held.jsonl"
    data.write_text("".join(json.dumps(e.__dict__) + "\n" for e in examples(3)), encoding="utf-8")
    assert load("llm_train").main(["eval", "--data", str(data), "--onnx", str(tmp_path / "m"), "--base", "tiny"]) == 0
    printed = capsys.readouterr().out
    assert "fp32 on CPUExecutionProvider: model alone in the top K" in printed and "(3 cases)" in printed
    assert "K=5:" in printed and "s median a case" in printed


def _z(values: list[float]) -> list[float]:
    from rca_lsp.ranker.fusion import zscores

    return zscores(values)


def test_loro_chooses_on_the_training_repositories_and_scores_the_held_out_once(tmp_path, capsys):
    """scripts/llm_loro.py on the tiny model: each fold scores only its own repository's cases, the
    full run and the base score the held-out cases three ways, and the choice reads the folds alone."""
    from _reliability import load

    loro = load("llm_loro")
    rows = [dict(e.__dict__, project=f"repo{i % 2}", scores=[1.0 - 0.1 * j for j in range(len(e.candidates))])
            for i, e in enumerate(examples(4))]
    train, held = tmp_path / "train.jsonl", tmp_path / "held.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    held.write_text("".join(json.dumps(dict(r, case_id="h" + r["case_id"], project="other")) + "\n" for r in rows[:2]),
                    encoding="utf-8")
    out = tmp_path / "run"
    common = ["--train", str(train), "--held", str(held), "--out", str(out)]
    assert loro.main(["run", *common, "--base", "tiny", "--epochs", "1,2", "--jobs", "2", "--group", "3"]) == 0
    results = {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/result.json")}
    assert sorted(results) == ["base", "fold-repo0", "fold-repo1", "full"]
    assert set(results["fold-repo0"]["stages"]["2"]["scores"]) == {"c0", "c2"}
    assert results["fold-repo0"]["train_cases"] == 2 and results["full"]["train_cases"] == 4
    full = results["full"]["stages"]
    assert list(full) == ["1", "2"] and full["2"]["steps"] == 8 and set(full["1"]["na"]) == {"hc0", "hc1"}
    assert (out / "full" / "adapter-e1" / "adapter_model.safetensors").is_file()
    stage, weight, table = loro.choose(tune.read_examples(train), {r["job"]: r for r in results.values()})
    assert stage in ("1", "2") and weight in loro.WEIGHTS and table[stage][weight]["n"] == 4
    assert table[stage][weight]["mrr"] == max(row[w]["mrr"] for row in table.values() for w in loro.WEIGHTS)
    assert loro.main(["report", *common]) == 0
    said = capsys.readouterr().out
    assert f"chosen on the training repositories: {stage} epochs, weight {weight}" in said and "(chosen)" in said
    assert "learned fusion (" in said and "<- chosen (best out of fold)" in said
    assert loro.main(["run", *common, "--base", "tiny"]) == 0  # every job done: nothing runs again
    # the learned fusion on held-out examples scored elsewhere (llm_train.py eval --json's shape)
    scored = tmp_path / "scored.json"
    scored.write_text(json.dumps([{"case_id": "h" + r["case_id"], "model": [0.0] * len(r["candidates"])}
                                  for r in rows[:2]]), encoding="utf-8")
    capsys.readouterr()
    assert loro.main(["fuse", *common, "--scores", str(scored), "--stage", "2"]) == 0
    said = capsys.readouterr().out
    assert "held out (2 cases of other)" in said and "learned fusion (2 epochs, l2 " in said
    (out / "fold-repo1" / "result.json").unlink()  # a fold that failed (out of memory, say)
    capsys.readouterr()
    assert loro.main(["report", *common]) == 0
    assert "WARNING: out-of-fold scores for 2 of 4 cases only; none for repo1" in capsys.readouterr().out


def test_loro_deals_repositories_into_folds_and_a_fold_holds_out_all_of_its_repositories():
    from _reliability import load

    loro = load("llm_loro")
    train = [tune.Example(f"c{i}", f"r{i % 5}", "f", "", ["a", "b"], 0) for i in range(10)]
    assert loro.folds(train) == [["r0"], ["r1"], ["r2"], ["r3"], ["r4"]]
    assert loro.folds(train, 2) == [["r0", "r2", "r4"], ["r1", "r3"]]
    assert loro.folds(train, 9) == loro.folds(train)  # never an empty fold
    assert loro.jobs(train, True, 2) == ["fold:r0+r2+r4", "fold:r1+r3", "full", "base"]


def test_the_learned_fusion_learns_to_follow_whichever_signal_finds_the_culprit():
    from _reliability import load

    loro = load("llm_loro")
    # retrieval always puts the culprit second; the model puts it first: the fusion must learn to follow the model
    exs = [tune.Example(f"c{i}", f"r{i % 3}", "f", "", ["a", "b", "c", "d"], 1, scores=(4.0, 3.0 + 0.1 * (i % 2), 2.0, 1.0))
           for i in range(12)]
    scores = {e.case_id: [0.1, 2.0 + (i % 3) * 0.1, -1.0, 0.3] for i, e in enumerate(exs)}
    groups = {e.case_id: e.project for e in exs}
    model = loro.fit_fusion(exs, scores, groups)
    assert model["l2"] in loro.FUSION_L2 and model["weights"][1] > 0
    assert loro.fusion_ranks(model, exs, scores) == [1] * 12
    below = tune.Example("x", "r0", "f", "", ["a", "b"], 1, retrieval_rank=30, scores=(2.0, 1.0))
    assert loro.fusion_ranks(model, [below], {"x": [0.0, 1.0]}) == [30]  # below K: retrieval's rank stays


def test_the_models_share_is_cross_fitted_by_set_and_two_sets_may_share_case_ids(tmp_path, capsys):
    """scripts/llm_share.py: each set is ranked by a second stage fitted on the other set alone. The
    tool puts every culprit second, the model first: the second stage learns to follow the model.
    Both sets use the same case ids (two samples of one library do), with the culprit at different
    places: each set's scores must stay its own."""
    from _reliability import load

    share = load("llm_share")
    paths = []
    for name, label, tool in (("a", 1, (4.0, 3.0, 2.0, 1.0)), ("b", 2, (4.0, 2.0, 3.0, 1.0))):
        exs, scores = [], []
        for i in range(12):
            exs.append({"case_id": f"c{i}", "project": f"{name}{i % 3}", "failure": "f", "test": "",
                        "candidates": ["w", "x", "y", "z"], "label": label, "scores": list(tool),
                        "retrieval_rank": 2})
            model = [0.1, 0.2, 0.3, 0.0]
            model[label] = 2.0 + 0.1 * (i % 3)
            scores.append({"case_id": f"c{i}", "model": model})
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(e) + "\n" for e in exs))
        (tmp_path / f"{name}.json").write_text(json.dumps(scores))
        paths.append(f"{name}={tmp_path / f'{name}.jsonl'}:{tmp_path / f'{name}.json'}")
    assert share.main([arg for p in paths for arg in ("--set", p)]) == 0
    rows = {line.split(" | ")[0].strip("| "): line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")}
    assert "| 0.0 / 100.0 / 0.500 | 0.0 / 100.0 / 0.500 |" in rows["without"]
    assert "| 100.0 / 100.0 / 1.000 | 100.0 / 100.0 / 1.000 |" in rows["model alone"]
    assert "| 100.0 / 100.0 / 1.000 | 100.0 / 100.0 / 1.000 |" in rows["second stage"]
