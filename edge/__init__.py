"""The carewatch edge gateway: sensor messages in, alarms out, nothing lost."""

__version__ = "0.1.0"
