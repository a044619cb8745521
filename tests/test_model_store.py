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


def pipeline_project(root: Path) -> Path:
    """A project whose config.yml names one component of its own, which imports a helper (and the
    helper a lexicon loader, relatively); one module nobody in the pipeline imports."""
    files = {
        "config.yml": "pipeline:\n  - name: WhitespaceTokenizer\n  - name: nlu.parts.cues.CueFeaturizer\n"
                      "policies:\n  - name: RulePolicy\n",
        "nlu/__init__.py": "",
        "nlu/parts/__init__.py": "",
        "nlu/parts/cues.py": "from nlu.helpers import weigh\n\nclass CueFeaturizer:\n    pass\n",
        "nlu/helpers/__init__.py": "from .lexicon import load\n",
        "nlu/helpers/lexicon.py": "def load():\n    return 1\n",
        "nlu/unused.py": "X = 1\n",
        "data/lexicons/topics/en.yml": "pension: [pension]\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize("changed", ["nlu/parts/cues.py", "nlu/helpers/__init__.py", "nlu/helpers/lexicon.py",
                                     "nlu/__init__.py", "data/lexicons/topics/en.yml"])
def test_a_change_to_what_the_pipeline_runs_or_reads_changes_the_fingerprint(tmp_path, changed):
    project = pipeline_project(tmp_path)
    before = model_store.fingerprint(project)
    with (project / changed).open("a") as handle:
        handle.write("# changed\n")
    assert model_store.fingerprint(project) != before


def test_a_module_the_pipeline_does_not_import_leaves_the_fingerprint(tmp_path):
    project = pipeline_project(tmp_path)
    before = model_store.fingerprint(project)
    (project / "nlu/unused.py").write_text("X = 2\n")
    assert model_store.fingerprint(project) == before
    (project / "nlu/parts/cues.py").write_text("from nlu import unused\n\nclass CueFeaturizer:\n    pass\n")
    changed = model_store.fingerprint(project)
    (project / "nlu/unused.py").write_text("X = 3\n")  # imported now: found without being listed
    assert model_store.fingerprint(project) != changed


def test_the_real_pipelines_code_is_found_from_config_yml():
    """The topic features (bot/topic_lexicon.py, which a hand list once missed), the signal
    policy's detector and the situation extractor are in; the channels and the settings are not
    (a change to them must not retrain)."""
    from core.settings import ROOT

    found = {path.relative_to(ROOT).as_posix() for path in model_store.pipeline_code(ROOT)}
    assert {"bot/components/topic_cues.py", "bot/topic_lexicon.py", "bot/policies/signal_policy.py",
            "bot/signals/detector.py", "bot/situation/extract.py", "bot/components/lexicon_files.py"} <= found
    assert not {name for name in found if name.startswith(("bot/channels", "actions/", "handoff/"))}
    assert "core/settings.py" not in found and "bot/settings.py" not in found
