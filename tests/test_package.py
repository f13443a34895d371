"""The public surface: what __all__ promises is exactly what the package exports."""

from __future__ import annotations

import importlib
import inspect

from livekit.agents import Plugin

import livekit_plugins_medvision as mv


def test_all_matches_public_names() -> None:
    public = {
        name
        for name, value in vars(mv).items()
        if not name.startswith("_")
        and not inspect.ismodule(value)
        and name not in {"Plugin", "MedVisionPlugin", "logger"}
    }
    assert set(mv.__all__) == public | {"__version__"}
    assert len(mv.__all__) == len(set(mv.__all__)), "duplicate names in __all__"


def test_every_name_in_all_resolves() -> None:
    module = importlib.import_module("livekit_plugins_medvision")
    for name in mv.__all__:
        assert getattr(module, name) is not None, name


def test_plugin_is_registered_once() -> None:
    ours = [p for p in Plugin.registered_plugins if p.package == "livekit_plugins_medvision"]
    assert len(ours) == 1
    assert ours[0].version == mv.__version__
    assert ours[0].logger is not None and ours[0].logger.name == "livekit.plugins.medvision"
