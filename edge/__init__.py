"""The carewatch edge gateway: sensor messages in, alarms out, nothing lost."""

__version__ = "0.1.0"
BUILD_DATE = "2026-12-01"  # a device time before this is not believed (edge.timecheck)
