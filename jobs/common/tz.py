"""The one time zone of the job runtime and the DAGs: Asia/Tokyo (日本標準時, no DST).

A plain string, so the DAG processor may import this module at parse time; the municipality's
calendar config (``calendar.timezone``) names the same zone for the step runtime.
"""

from __future__ import annotations

TIMEZONE = "Asia/Tokyo"
