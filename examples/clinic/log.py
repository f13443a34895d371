"""The clinic agent's logger: a patient hash in a record's ``extra`` must be a hash."""

import logging

from livekit_plugins_medvision.privacy import PatientHashFilter

logger = logging.getLogger("medvision.clinic_agent")
logger.addFilter(PatientHashFilter())
