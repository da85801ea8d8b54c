"""The carewatch cloud service: ingest, storage, registries (dispatch and notify plug in).

Public API for other features:

- ``cloud.settings.Settings`` — pydantic-settings, prefix ``CAREWATCH_`` (``public_url``,
  ``twilio_*``, ``vapid_*``, ``production``, ``database_url``, ``influx_*``, ...).
- ``cloud.db`` — ``Base`` (naming convention), ``UTCDateTime``, ``utcnow``, ``make_engine``,
  ``make_sessionmaker``, ``get_session`` and ``SessionDep``, ``insert_ignoring_conflicts``.
- ``cloud.models`` — ``Gateway``, ``Household``, ``Resident``, ``Device``,
  ``FamilyContact``, ``Worker``, ``User``, ``ApiToken``, ``Alarm``, ``AlarmEvent``.
- ``cloud.auth.deps`` — ``Role``, ``CurrentUser``, ``require_roles(*roles)``;
  ``cloud.auth.service`` — ``create_user``, ``issue_token``.
- ``cloud.app.create_app(settings=None)`` — the FastAPI app. ``app.state``: ``settings``,
  ``engine``, ``sessionmaker``, ``influx``, ``alarm_wakeup`` (asyncio.Event set after
  new alarms or updates are committed), ``lifespan_hooks``. Every module named in
  ``Settings.features`` (default ``cloud.dispatch``, ``cloud.notify``, ``cloud.webapp``,
  ``cloud.console``; env ``CAREWATCH_FEATURES`` as a JSON list) that exists and defines
  ``install(app)`` is installed by ``create_app`` (``features=`` overrides).
- ``cloud.server.ServiceThread`` — the service on a real port in a background thread.
- ``cloud.migrate.upgrade(engine)`` — Alembic migrations in-process.
"""
