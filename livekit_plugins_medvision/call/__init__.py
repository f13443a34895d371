"""One obvious way in: ``await MedVision.start(ctx, session, agent)`` wires the three parts."""

from .medvision import CallContext, MedVision

__all__ = ["CallContext", "MedVision"]
