"""Keeping, pruning and rolling back models, with fake model files in a fake project (training
itself is replaced by writing a file: the choice of model is what is under test)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import List

import pytest

from tooling import model_store


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "data/nlu/en").mkdir(parents=True)
    (tmp_path / "config.yml").write_text("pipeline: []\n")
    (tmp_path / "data/nlu/en/greet.yml").write_text("nlu: []\n")
    (tmp_path / "models").mkdir()
    return tmp_path


def fake_archive(path: Path, members: List[str]) -> None:
    import io
    import tarfile

    with tarfile.open(path, "w:gz") as archive:
        for name in members:
            info = tarfile.TarInfo(name)
            info.size = 1
            archive.addfile(info, io.BytesIO(b"x"))


@pytest.fixture
def trainings(monkeypatch) -> List[str]:
    """Replaces Rasa training by writing a fake model; records each fingerprint trained."""
    done: List[str] = []
    counter = iter(range(1_000_000, 2_000_000, 10))

    def fake_train(models_dir: Path, *, root: Path) -> Path:
        print_ = model_store.fingerprint(root)
        target = model_store.model_path(models_dir, print_)
        fake_archive(target, ["components/train_X0/train_X0.skops"])
        stamp = next(counter)
        os.utime(target, (stamp, stamp))  # distinct, increasing training times
        done.append(print_)
        return target

    monkeypatch.setattr(model_store, "train", fake_train)
    return done


def change_data(project: Path, n: int) -> None:
    (project / "data/nlu/en/greet.yml").write_text(f"nlu: []  # version {n}\n")


def test_the_fingerprint_covers_the_data_and_the_model_is_named_by_it(project, trainings):
    first = model_store.ensure_trained(project / "models", root=project)
    assert first.name == f"renben-{model_store.fingerprint(project)}.tar.gz"
    assert model_store.ensure_trained(project / "models", root=project) == first
    assert len(trainings) == 1  # unchanged data: no second training
    change_data(project, 2)
    assert model_store.ensure_trained(project / "models", root=project) != first
    assert len(trainings) == 2


def test_only_the_newest_models_are_kept(project, trainings, monkeypatch):
    monkeypatch.setenv("RENBEN_MODELS_KEEP", "3")
    for n in range(5):
        change_data(project, n)
        model_store.ensure_trained(project / "models", root=project)
    kept = [m.print for m in model_store.stored_models(project / "models")]
    assert kept == list(reversed(trainings[-3:]))


def test_rollback_restores_the_earlier_model_until_the_data_changes(project, trainings, capsys):
    models = project / "models"
    change_data(project, 1)
    earlier = model_store.ensure_trained(models, root=project)
    change_data(project, 2)
    later = model_store.ensure_trained(models, root=project)
    assert earlier != later

    assert model_store.main(["--root", str(project), "rollback", earlier.name[7:13]]) == 0
    assert "Rolled back to " + earlier.name in capsys.readouterr().out
    assert model_store.ensure_trained(models, root=project) == earlier
    listing = "\n".join(model_store.list_lines(models, root=project))
    assert f"{earlier.name[7:-7]}" in listing and "IN USE" in listing.split(earlier.name[7:-7])[1].splitlines()[0]

    change_data(project, 3)  # a trainer fixes the data: the rollback ends, a new model is trained
    newest = model_store.ensure_trained(models, root=project)
    assert newest not in (earlier, later) and not (models / "current").exists()


def test_a_rolled_back_model_is_never_pruned(project, trainings, monkeypatch):
    monkeypatch.setenv("RENBEN_MODELS_KEEP", "2")
    models = project / "models"
    change_data(project, 0)
    oldest = model_store.ensure_trained(models, root=project)
    change_data(project, 1)
    model_store.ensure_trained(models, root=project)
    model_store.rollback(models, oldest.name[7:-7], root=project)
    # Someone else trains for other data while the rollback holds for this data.
    pinned_for = model_store.Pin.read(models).pinned_for
    for removed in model_store.prune(models, keep=0, protect=[oldest]):
        assert removed != oldest
    assert oldest.exists() and model_store.Pin.read(models).pinned_for == pinned_for


def test_release_ends_a_rollback(project, trainings):
    models = project / "models"
    change_data(project, 1)
    earlier = model_store.ensure_trained(models, root=project)
    change_data(project, 2)
    later = model_store.ensure_trained(models, root=project)
    model_store.rollback(models, earlier.name[7:-7], root=project)
    assert model_store.release(models) is True
    assert model_store.ensure_trained(models, root=project) == later


def test_rolling_back_to_an_unknown_or_ambiguous_model_is_refused(project, capsys):
    models = project / "models"
    for print_ in ("abc1110000000000", "abc2220000000000"):
        fake_archive(model_store.model_path(models, print_), [])
    assert model_store.main(["--root", str(project), "rollback", "zzzz"]) == 2
    assert "no kept model starts with 'zzzz'" in capsys.readouterr().out
    with pytest.raises(model_store.ModelStoreError, match="matches 2 models"):
        model_store.rollback(models, "abc", root=project)
    assert model_store.rollback(models, "abc2", root=project).name == "renben-abc2220000000000.tar.gz"


def test_a_deleted_rolled_back_model_falls_back_to_the_current_one(project, trainings):
    models = project / "models"
    change_data(project, 1)
    earlier = model_store.ensure_trained(models, root=project)
    change_data(project, 2)
    later = model_store.ensure_trained(models, root=project)
    model_store.rollback(models, earlier.name[7:-7], root=project)
    earlier.unlink()
    assert model_store.ensure_trained(models, root=project) == later


def test_a_model_the_training_cache_broke_is_recognised_and_trained_again(project, trainings):
    """Rasa 3.6 can restore a cached classifier under another node's name: the model won't load."""
    models = project / "models"
    target = model_store.model_path(models, model_store.fingerprint(project))
    fake_archive(target, ["components/train_LogisticRegressionClassifier5/train_LogisticRegressionClassifier6.skops"])
    assert model_store.broken_parts(target)
    assert model_store.ensure_trained(models, root=project) == target
    assert trainings == [model_store.fingerprint(project)]  # trained again instead of used
    fake_archive(target, ["components/train_LogisticRegressionClassifier5/train_LogisticRegressionClassifier5.skops"])
    assert model_store.broken_parts(target) == []


def test_every_input_the_fingerprint_lists_exists():
    """A renamed or moved file would silently drop out of the fingerprint (missing paths are
    skipped), and a change to it would no longer retrain."""
    from core.settings import ROOT

    missing = [name for name in model_store.TRAINING_INPUTS if not (ROOT / name).exists()]
    assert not missing, f"TRAINING_INPUTS names paths that do not exist: {missing}"


def test_the_bot_modules_the_nlu_components_import_are_fingerprinted():
    """The modules whose code shapes what the classifier learns (the components' helpers, and
    theirs in turn) are in the fingerprint's inputs."""
    import ast

    from core.settings import ROOT

    # Not training inputs: paths only, and the signal detector (it writes `signals` into the
    # parse result at run time; the classifier never sees them).
    run_time_only = ("bot.settings", "core.settings", "bot.signals")
    seen, unlisted = set(), set()
    todo = sorted((ROOT / "bot" / "components").glob("*.py"))
    while todo:
        path = todo.pop()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(("bot.", "core."))):
                continue
            module = node.module
            if module in seen or module.startswith(run_time_only) or module.startswith("bot.components"):
                continue
            seen.add(module)
            name = module.replace(".", "/") + ".py"
            folder = module.replace(".", "/")  # a package listed whole (bot/situation) covers its modules
            if not any(name == listed or folder == listed or name.startswith(listed + "/")
                       for listed in model_store.TRAINING_INPUTS):
                unlisted.add(module)
            if (ROOT / name).exists():
                todo.append(ROOT / name)
    assert not unlisted, f"add to model_store.TRAINING_INPUTS: {sorted(unlisted)}"
