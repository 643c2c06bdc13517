#!/usr/bin/env python3
"""Writes countersign.json, a Grafana dashboard for the metrics of docs/operations.md ("Metrics").

Run it after changing a panel: python3 deploy/grafana/make-dashboard.py. Import the JSON in Grafana
(Dashboards > New > Import) and pick the Prometheus data source that scrapes every node's Metrics:Port.
Per-node panels group by Prometheus's own `instance` label (one scrape target per node).
"""
import json
import os

RATE = "[$__rate_interval]"

PANELS = [
    # (title, unit, [(legend, PromQL)])
    ("Sign-ins per second by result", "reqps",
     [("{{result}}", f"sum by (result) (rate(countersign_signin_attempts_total{RATE}))")]),
    ("Refusals before any password check (423 locked, 428 proof of work, 429 rate limit)", "reqps",
     [("{{reason}}", f'sum by (reason) (rate(countersign_signin_attempts_total{{result="refused"}}{RATE}))')]),
    ("Sign-in latency", "s",
     [("p50", f"histogram_quantile(0.5, sum by (le) (rate(countersign_signin_duration_seconds_bucket{RATE})))"),
      ("p99", f"histogram_quantile(0.99, sum by (le) (rate(countersign_signin_duration_seconds_bucket{RATE})))")]),
    ("Security events per minute", "short",
     [("lockouts", f'60 * sum(rate(countersign_audit_events_total{{action="locked_out"}}{RATE}))'),
      ("refresh-token reuse", f'60 * sum(rate(countersign_audit_events_total{{action="refresh_reuse_detected"}}{RATE}))'),
      ("possible impersonation on a call", f'60 * sum(rate(countersign_audit_events_total{{action="possible_impersonation"}}{RATE}))'),
      ("TOTP replays refused", f"60 * sum(rate(countersign_totp_replays_total{RATE}))")]),
    ("HTTP 423 / 428 / 429 per second", "reqps",
     [("{{http_response_status_code}}",
       f'sum by (http_response_status_code) (rate(http_server_request_duration_seconds_count{{http_response_status_code=~"423|428|429"}}{RATE}))')]),
    ("Request latency p99 by route", "s",
     [("{{http_route}}", f"histogram_quantile(0.99, sum by (le, http_route) (rate(http_server_request_duration_seconds_bucket{RATE})))")]),
    ("Call-verification hub connections per node", "short",
     [("{{instance}}", "sum by (instance) (countersign_calls_hub_connections)")]),
    ("Call words pushed per second", "short",
     [("words", f"sum(rate(countersign_calls_words_pushed_total{RATE}))")]),
    ("Face verifications per minute by result", "short",
     [("{{result}}", f"60 * sum by (result) (rate(countersign_face_verifications_total{RATE}))")]),
    ("Face verification latency p95", "s",
     [("p95", f"histogram_quantile(0.95, sum by (le) (rate(countersign_face_verification_duration_seconds_bucket{RATE})))")]),
    ("Audit events per second by action", "short",
     [("{{action}}", f"sum by (action) (rate(countersign_audit_events_total{RATE}))")]),
    ("Memory per node (working set)", "bytes",
     [("{{instance}}", "sum by (instance) (dotnet_process_memory_working_set_bytes)")]),
]


def panel(index, title, unit, targets):
    return {
        "id": index + 1,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
        "targets": [{"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend}
                    for i, (legend, expr) in enumerate(targets)],
    }


dashboard = {
    "title": "Countersign",
    "uid": "countersign",
    "schemaVersion": 39,
    "version": 1,
    "editable": True,
    "time": {"from": "now-1h", "to": "now"},
    "refresh": "30s",
    "tags": ["countersign", "authentication"],
    "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus"}]},
    "panels": [panel(i, *p) for i, p in enumerate(PANELS)],
}

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "countersign.json")
with open(path, "w", encoding="utf-8") as f:
    json.dump(dashboard, f, indent=2)
    f.write("\n")
print(f"wrote {path}: {len(PANELS)} panels")
