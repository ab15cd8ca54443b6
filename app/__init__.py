"""The application factory: configuration, policy, extensions, blueprints and commands."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

from app import security_headers
from app.config import PROJECT_ROOT, Settings, engine_options
from app.errors import NocApi, register_database_unavailable, register_domain_errors
from app.extensions import db, migrate
from app.ops.logs import configure_logging
from app.policy import load_policy


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(PROJECT_ROOT / "instance"))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    settings = Settings.from_environment(Path(app.instance_path))
    app.config.update(settings.flask_config())
    if overrides:
        app.config.update(overrides)
        if "SQLALCHEMY_DATABASE_URI" in overrides and "SQLALCHEMY_ENGINE_OPTIONS" not in overrides:
            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(overrides["SQLALCHEMY_DATABASE_URI"])
    app.json.ensure_ascii = False  # Chinese text round-trips unchanged
    configure_logging()

    # A bad policy stops start-up here, with a message naming the key.
    app.extensions["noc_policy"] = load_policy(app.config["NOC_POLICY_FILE"])
    app.extensions["noc_health_probes"] = {}

    _import_models()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), compare_type=True)
    api = NocApi(app, spec_kwargs={"security": [{"bearerAuth": []}]})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    app.extensions["noc_api"] = api
    register_domain_errors(app)
    register_database_unavailable(app)
    _register_blueprints(app, api)
    _register_commands(app)
    _init_domains(app)
    security_headers.init_app(app)
    return app


def _init_domains(app: Flask) -> None:
    """Each domain registers its workers, health probes and settings here. The order does not
    matter: what one domain's transition does in another is called from ``app.incidents.flows``."""
    from app import notify, outbound, scheduling, web

    scheduling.init_app(app)
    notify.init_app(app)
    outbound.init_app(app)
    web.init_app(app)


def _import_models() -> None:
    """Every model module, so metadata (and Alembic) sees every table."""
    import app.alerts.models  # noqa: F401
    import app.auth.models  # noqa: F401
    import app.catalog.models  # noqa: F401
    import app.complaints.models  # noqa: F401
    import app.compensation.models  # noqa: F401
    import app.incidents.models  # noqa: F401
    import app.models  # noqa: F401
    import app.notify.models  # noqa: F401
    import app.oncall.models  # noqa: F401
    import app.public.models  # noqa: F401
    import app.plans.models  # noqa: F401
    import app.outbound.models  # noqa: F401
    import app.notify.provider_events  # noqa: F401
    import app.ops.models  # noqa: F401
    import app.reports.models  # noqa: F401
    import app.scheduling.models  # noqa: F401
    import app.staff.models  # noqa: F401
    import app.subscribers.models  # noqa: F401


def _register_blueprints(app: Flask, api: NocApi) -> None:
    from app import health, policy_views
    from app.ops import metrics
    from app.alerts import views as alert_views
    from app.catalog import views as catalog_views
    from app.compensation import views as compensation_views
    from app.complaints import views as complaint_views
    from app.incidents import views as incident_views
    from app.notify import views as notify_views
    from app.notify import webhooks
    from app.public import stats_views as public_stats_views
    from app.public import views as public_views
    from app.oncall import views as oncall_views
    from app.plans import views as plan_views
    from app.outbound import views as outbound_views
    from app.reports import views as report_views
    from app.scheduling import views as scheduling_views
    from app.staff import views as staff_views
    from app.subscribers import views as subscriber_views
    from app.web.views import bp as console_bp

    app.register_blueprint(health.blp)
    app.register_blueprint(metrics.blp)
    metrics.init_app(app)
    app.register_blueprint(console_bp)
    api.register_blueprint(policy_views.blp)
    api.register_blueprint(incident_views.blp)
    api.register_blueprint(compensation_views.blp)
    api.register_blueprint(report_views.blp)
    api.register_blueprint(scheduling_views.blp)
    api.register_blueprint(subscriber_views.blp)
    api.register_blueprint(notify_views.blp)
    api.register_blueprint(complaint_views.blp)
    api.register_blueprint(oncall_views.blp)
    api.register_blueprint(plan_views.blp)
    api.register_blueprint(outbound_views.blp)
    api.register_blueprint(staff_views.blp)
    api.register_blueprint(alert_views.blp)
    api.register_blueprint(public_stats_views.blp)
    api.register_blueprint(catalog_views.blp)
    app.register_blueprint(webhooks.blp)
    app.register_blueprint(public_views.bp)
    public_views.init_app(app)


def _register_commands(app: Flask) -> None:
    from app.auth.cli import users_cli
    from app.catalog.cli import catalog_cli
    from app.cli import bootstrap, serve
    from app.demo import demo
    from app.notify.cli import gateway_cli, sender_cli
    from app.outbound.cli import outbound_cli, receiver_cli
    from app.scheduling.cli import scheduler_cli
    from app.subscribers.cli import subscribers_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(bootstrap)
    app.cli.add_command(serve)
    app.cli.add_command(scheduler_cli)
    app.cli.add_command(sender_cli)
    app.cli.add_command(gateway_cli)
    app.cli.add_command(outbound_cli)
    app.cli.add_command(receiver_cli)
    app.cli.add_command(subscribers_cli)
    app.cli.add_command(demo)
    app.cli.add_command(catalog_cli)
