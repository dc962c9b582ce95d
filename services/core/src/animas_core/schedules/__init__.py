"""Schedules: the one notation of heartbeat.md, cron.md and the scheduler (README "Schedules").

Pure: no I/O, no clock. The scheduler service, agent-runner and the ``anima`` CLI all read
schedules through this package, so they agree on every fire time.

Notations (case-insensitive; full-width digits, colons and spaces are read as ASCII):

* Cron, five fields ``minute hour day-of-month month day-of-week``: ``*``, values, ranges
  ``a-b``, lists ``a,b``, steps ``*/s`` and ``a-b/s``; names ``jan``…``dec`` and ``sun``…``sat``.
  Weekdays are POSIX: **0 and 7 are Sunday**, 5 is Friday (``0 17 * * 5`` fires on Fridays).
  When both day fields are restricted (neither begins with ``*``), a day matches if either
  matches; otherwise both must (Vixie cron). ``a/s`` without a range, six fields and ``@daily``
  are refused.
* English: ``every day at 9:00``, ``daily 9:00``, ``every Friday 17:00``, ``every mon, wed and
  fri at 9:00``, ``fridays 17:00``, ``weekdays 9:00``, ``every weekday at 9:00``,
  ``weekends 10:00``, ``every 30 minutes``, ``every minute``, ``every 2 hours``, ``every hour``,
  ``hourly``. Times are 24-hour ``H:MM``; ``5pm`` is refused, and so is a bare ``friday 9:00``
  (it could mean only the next one).
* Japanese: ``毎日 9:00``, ``毎週金曜 17:00`` (``金曜日``, ``毎週月・水・金曜``), ``平日 9:00``,
  ``土日 10:00`` (``週末``), ``30分ごと`` (``30分毎``), ``2時間ごと``, ``毎時``; times also as
  ``9時``, ``9時30分``, ``9時半``. ``毎月`` and other forms are refused.

Zones: a schedule may end in a zone, ``Daily 9:00 JST`` or ``0 9 * * 1-5 Europe/Berlin``: an IANA
name or an abbreviation of :data:`~animas_core.schedules.zones.ABBREVIATIONS` (each meaning a
region's civil time with its daylight saving: ``EST`` is America/New_York all year). Ambiguous
ones (``CST``, ``IST``, ``BST``, ``AST``) are refused. Without a zone, or with the template
placeholder ``{timezone}``, the schedule runs on the anima's zone (status.json ``timezone``, else
config ``system.timezone``).

Every N minutes/hours counts from local midnight: it fires when the minutes since midnight are a
multiple of N (``every 45 minutes``: 0:00, 0:45, 1:30 … 23:15, then 0:00), so the occurrences are
a function of the text and the zone alone and every replica computes the same ones. N runs from
1 minute to 24 hours; when N does not divide a day, the last gap before midnight is shorter.

Daylight saving: all schedules are wall-clock times. A time that does not exist (clocks go
forward) fires once, at the first instant after the gap (2:30 on a spring-forward night in
New York fires at 3:00 EDT); several times inside one gap fire once together. A time that occurs
twice (clocks go back) fires once, at its first occurrence. Fire times never repeat and never go
backwards.

Files: cron.md has one ``## <Title> (<schedule>)`` section per task; its body may begin with
``command: <cmd>``, ``skip_pattern: <regex>`` (searched in the command's output; a match means
nothing to do) and ``enabled: false`` lines, and the rest is the instruction for the model.
heartbeat.md has ``## Execution Interval``, ``## Active Hours`` (``9:00 - 18:00 (Asia/Tokyo)``,
``9:00〜18:00 (JST)``; the end is exclusive, ``22:00 - 6:00`` spans midnight, ``0:00 - 24:00`` is
all day), ``## Checklist`` and ``## Notification Rules`` (or 実行間隔, 活動時間, チェックリスト,
通知ルール). A schedule that is not understood is reported with its heading and skipped.
"""

from animas_core.schedules.documents import (
    CronSpec,
    CronTask,
    HeartbeatSpec,
    parse_cron,
    parse_heartbeat,
)
from animas_core.schedules.hours import ActiveHours, parse_active_hours
from animas_core.schedules.notation import parse_schedule
from animas_core.schedules.plan import (
    CONSOLIDATION_DAILY,
    CONSOLIDATION_WEEKLY,
    HEARTBEAT,
    NamedSchedule,
    anima_schedules,
    cron_key,
    fires_between,
    next_fires,
)
from animas_core.schedules.rule import MAX_FIRES, Schedule
from animas_core.schedules.zones import ScheduleError, zone_for

__all__ = [
    "CONSOLIDATION_DAILY",
    "CONSOLIDATION_WEEKLY",
    "HEARTBEAT",
    "MAX_FIRES",
    "ActiveHours",
    "CronSpec",
    "CronTask",
    "HeartbeatSpec",
    "NamedSchedule",
    "Schedule",
    "ScheduleError",
    "anima_schedules",
    "cron_key",
    "fires_between",
    "next_fires",
    "parse_active_hours",
    "parse_cron",
    "parse_heartbeat",
    "parse_schedule",
    "zone_for",
]
