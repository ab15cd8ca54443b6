"""``flask demo``: fill the embedded database with a realistic sample (API.md "Commands").

Subscribers over several Zhejiang cities, the three NOC staff roles, and incidents in every
state — all through the product's own services. It refuses a database that already holds
incidents or subscribers unless ``--force``, so demo data is never mixed into real data by accident.
"""
from __future__ import annotations

import secrets

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from app.auth.models import Role, User
from app.auth.service import create_user
from app.catalog.service import city_of
from app.compensation import engine
from app.compensation.money import fen_to_yuan
from app.extensions import db
from app.incidents.models import Incident, Level, Status
from app.phones import mask
from app.subscribers.models import Subscriber

# (name, role, phone, on call): the duty manager is on call so deadline warnings reach someone.
DEMO_STAFF = (
    ("zhang.wei", Role.operator, None, False),
    ("li.na", Role.duty_manager, "+8613905710001", True),
    ("wang.fang", Role.reviewer, None, False),
)


def _staff_member(name: str, role: Role, phone: str | None, on_call: bool) -> tuple[User, str | None]:
    """The existing demo user (a rerun with --force), or a new one with a console password."""
    user = db.session.scalar(select(User).where(User.name == name))
    if user is not None:
        return user, None
    password = secrets.token_urlsafe(9)
    user, _token = create_user(name, role, password=password, phone=phone, on_call=on_call)
    return user, password


@click.command("demo")
@click.option("--subscribers", "subscriber_count", type=click.IntRange(1, 1_000_000), default=5000, show_default=True,
              help="how many sample subscribers to import")
@click.option("--force", is_flag=True, help="run even though the database already has incidents")
@with_appcontext
def demo(subscriber_count: int, force: bool) -> None:
    """填充演示数据：浙江多地市用户、值班人员，以及各状态的故障 (fill the database with a demo sample)."""
    from app.demo.incidents import Staff, create_incidents
    from app.demo.subscribers import load_sample

    incidents_there = db.session.scalar(select(func.count(Incident.id))) or 0
    subscribers_there = db.session.scalar(select(func.count(Subscriber.id))) or 0
    if (incidents_there or subscribers_there) and not force:
        # Real subscribers without incidents yet are real data too: 5000 invented ones would
        # then receive real notices' numbers and counts.
        raise click.ClickException(
            f"数据库中已有 {incidents_there} 个故障单、{subscribers_there} 个用户，未写入任何演示数据；"
            f"确需混入演示数据请加 --force (the database already has data; nothing was written; "
            f"use --force to add the demo anyway)")

    imported, opted_out = load_sample(subscriber_count)
    credentials = []
    members = []
    for name, role, phone, on_call in DEMO_STAFF:
        user, password = _staff_member(name, role, phone, on_call)
        members.append(user)
        credentials.append((user, password))
    incidents = create_incidents(Staff(*members))
    _print_summary(imported, opted_out, credentials, incidents)


def subscribers_by_city() -> list[tuple[str, int]]:
    city = city_of(Subscriber.region).label("city")
    return db.session.execute(select(city, func.count()).group_by(city).order_by(func.count().desc(), city)).all()


def _print_summary(imported, opted_out: int, credentials, incidents: list[Incident]) -> None:
    click.echo("=" * 72)
    click.echo(f"演示数据已生成。用户：新增 {imported.created}，更新 {imported.updated}，退订 {opted_out}")
    by_region = subscribers_by_city()
    click.echo("  各地市用户数：" + "，".join(f"{region} {count}" for region, count in by_region))
    click.echo("值班人员（控制台密码仅显示一次）：")
    for user, password in credentials:
        label = Role(user.role).label
        phone = f"，电话 {mask(user.phone)}" + ("，值班中" if user.on_call else "") if user.phone else ""
        secret = f"密码 {password}" if password else "已存在，密码不变"
        click.echo(f"  {label}  用户名 {user.name}  {secret}{phone}")
    click.echo("故障单：")
    for incident in incidents:
        major = "，重大服务中断" if incident.major else ""
        click.echo(f"  {incident.number}  [{Status(incident.status).label}] {Level(incident.level).label}{major}"
                   f"  {incident.title}")
        ledger = engine.final_ledger(incident.id)
        if ledger is not None:
            click.echo(f"      补偿已结算：{ledger.subscribers} 户，经济补偿 {fen_to_yuan(ledger.economic_credit_fen)} 元，"
                       f"流量 {ledger.data_credit_gb} GB（倍数 ×{ledger.multiplier}）")
    click.echo("已超时未处理的时限将在调度器启动（flask serve）时判定并升级。")
    click.echo("=" * 72)
