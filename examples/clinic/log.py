"""The clinic agent's logger."""

import logging

logger = logging.getLogger("medvision.clinic_agent")
