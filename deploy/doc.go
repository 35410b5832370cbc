// Package deploy holds what runs beside erpsync in production, and its checks: Prometheus alert
// rules (prometheus/alerts.yml, tested with promtool), a scrape configuration, and a Grafana
// dashboard (grafana/erpsync.json) whose every query uses metrics the worker exports.
package deploy
