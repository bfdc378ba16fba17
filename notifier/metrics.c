/*
 * metrics.c — the counters and their Prometheus text (see metrics.h).
 */
#include "metrics.h"

#include "auth.h"
#include "conn.h"
#include "document.h"
#include "pg.h"
#include "quota.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>

struct metrics metrics;

size_t
metrics_render(char *buf, size_t size)
{
	pg_health h = pg_health_now();
	int n = snprintf(
		buf, size,
		"# TYPE collab_notifier_up gauge\ncollab_notifier_up %d\n"
		"# TYPE collab_notifier_connections gauge\n"
		"collab_notifier_connections %d\n"
		"# TYPE collab_notifier_documents gauge\n"
		"collab_notifier_documents %zu\n"
		"# TYPE collab_notifier_db_queries_pending gauge\n"
		"collab_notifier_db_queries_pending %d\n"
		"# TYPE collab_notifier_connections_total counter\n"
		"collab_notifier_connections_total %" PRIu64 "\n"
		"# TYPE collab_notifier_messages_in_total counter\n"
		"collab_notifier_messages_in_total %" PRIu64 "\n"
		"# TYPE collab_notifier_messages_out_total counter\n"
		"collab_notifier_messages_out_total %" PRIu64 "\n"
		"# TYPE collab_notifier_bytes_out_total counter\n"
		"collab_notifier_bytes_out_total %" PRIu64 "\n"
		"# TYPE collab_notifier_writes_total counter\n"
		"collab_notifier_writes_total %" PRIu64 "\n"
		"# TYPE collab_notifier_submits_total counter\n"
		"collab_notifier_submits_total %" PRIu64 "\n"
		"# TYPE collab_notifier_submit_errors_total counter\n"
		"collab_notifier_submit_errors_total %" PRIu64 "\n"
		"# TYPE collab_notifier_acks_total counter\n"
		"collab_notifier_acks_total %" PRIu64 "\n"
		"# TYPE collab_notifier_notifications_total counter\n"
		"collab_notifier_notifications_total %" PRIu64 "\n"
		"# TYPE collab_notifier_notifications_rejected_total counter\n"
		"collab_notifier_notifications_rejected_total %" PRIu64 "\n"
		"# TYPE collab_notifier_fetches_total counter\n"
		"collab_notifier_fetches_total %" PRIu64 "\n"
		"# TYPE collab_notifier_slow_closes_total counter\n"
		"collab_notifier_slow_closes_total %" PRIu64 "\n"
		"# TYPE collab_notifier_rate_limited_total counter\n"
		"collab_notifier_rate_limited_total %" PRIu64 "\n"
		"# TYPE collab_notifier_snapshots_total counter\n"
		"collab_notifier_snapshots_total %" PRIu64 "\n"
		"# TYPE collab_notifier_db_listening gauge\n"
		"collab_notifier_db_listening %d\n"
		"# TYPE collab_notifier_db_pool_connected gauge\n"
		"collab_notifier_db_pool_connected %d\n"
		"# TYPE collab_notifier_db_pool_answering gauge\n"
		"collab_notifier_db_pool_answering %d\n"
		"# TYPE collab_notifier_db_connections_lost_total counter\n"
		"collab_notifier_db_connections_lost_total %" PRIu64 "\n"
		"# TYPE collab_notifier_db_queries_timed_out_total counter\n"
		"collab_notifier_db_queries_timed_out_total %" PRIu64 "\n"
		"# TYPE collab_notifier_db_heartbeats_unanswered_total counter\n"
		"collab_notifier_db_heartbeats_unanswered_total %" PRIu64 "\n"
		"# TYPE collab_notifier_db_batches_total counter\n"
		"collab_notifier_db_batches_total %" PRIu64 "\n"
		"# TYPE collab_notifier_db_batched_submits_total counter\n"
		"collab_notifier_db_batched_submits_total %" PRIu64 "\n"
		"# TYPE collab_notifier_auth_enabled gauge\n"
		"collab_notifier_auth_enabled %d\n"
		"# TYPE collab_notifier_auth_disabled gauge\n"
		"collab_notifier_auth_disabled %d\n"
		"# TYPE collab_notifier_auth_accepted_total counter\n"
		"collab_notifier_auth_accepted_total %" PRIu64 "\n"
		"# TYPE collab_notifier_auth_refused_total counter\n"
		"collab_notifier_auth_refused_total %" PRIu64 "\n"
		"# TYPE collab_notifier_auth_expired_total counter\n"
		"collab_notifier_auth_expired_total %" PRIu64 "\n"
		"# TYPE collab_notifier_requests_dropped_total counter\n"
		"collab_notifier_requests_dropped_total %" PRIu64 "\n"
		"# TYPE collab_notifier_requests_over_pending_total counter\n"
		"collab_notifier_requests_over_pending_total %" PRIu64 "\n"
		"# TYPE collab_notifier_presence_coalesced_total counter\n"
		"collab_notifier_presence_coalesced_total %" PRIu64 "\n"
		"# TYPE collab_notifier_byte_rate_limited_total counter\n"
		"collab_notifier_byte_rate_limited_total %" PRIu64 "\n"
		"# TYPE collab_notifier_addresses gauge\n"
		"collab_notifier_addresses %zu\n"
		"# TYPE collab_notifier_refused_per_address_total counter\n"
		"collab_notifier_refused_per_address_total %" PRIu64 "\n"
		"# TYPE collab_notifier_creates_limited_total counter\n"
		"collab_notifier_creates_limited_total %" PRIu64 "\n"
		"# TYPE collab_notifier_fetch_requests_total counter\n"
		"collab_notifier_fetch_requests_total %" PRIu64 "\n"
		"# TYPE collab_notifier_fetch_queries_total counter\n"
		"collab_notifier_fetch_queries_total %" PRIu64 "\n",
		pg_healthy(NULL) ? 1 : 0, conn_count(), doc_count(), pg_pending(),
		metrics.connections_total, metrics.messages_in, metrics.messages_out,
		metrics.bytes_out, metrics.writes, metrics.submits,
		metrics.submit_errors, metrics.acks, metrics.notifications,
		metrics.notifications_rejected, metrics.fetches, metrics.slow_closes,
		metrics.rate_limited, metrics.snapshots, h.listening ? 1 : 0,
		h.pool_connected, h.pool_answering, metrics.db_connections_lost,
		metrics.db_queries_timed_out, metrics.db_probes_unanswered,
		metrics.db_batches, metrics.db_batched_submits, auth_enabled() ? 1 : 0,
		auth_enabled() ? 0 : 1, metrics.auth_accepted, metrics.auth_refused,
		metrics.auth_expired, metrics.requests_dropped,
		metrics.too_many_pending, metrics.presence_coalesced,
		metrics.byte_rate_limited, quota_addresses(),
		metrics.refused_per_address, metrics.creates_limited,
		metrics.fetch_requests, metrics.fetch_queries);

	int m;

	if (n < 0)
		return 0;
	if ((size_t) n >= size)
		return size - 1;
	m = snprintf(buf + n, size - (size_t) n,
				 "# TYPE collab_notifier_origins_refused_total counter\n"
				 "collab_notifier_origins_refused_total %" PRIu64 "\n"
				 "# TYPE collab_notifier_dev_logins_total counter\n"
				 "collab_notifier_dev_logins_total %" PRIu64 "\n",
				 metrics.origins_refused, metrics.dev_logins);
	if (m < 0)
		return (size_t) n;
	n += m;
	/* a partitioned deployment: whether each partition's LISTEN is in
	 * place (docs/scale-out.md) */
	for (int i = 0; i < pg_partitions() && (size_t) n < size; i++)
	{
		bool up;
		const char *name = pg_partition(i, &up);

		m = snprintf(buf + n, size - (size_t) n, "%s%s%s\"} %d\n",
					 i == 0 ? "# TYPE collab_notifier_partition_up gauge\n"
							: "",
					 "collab_notifier_partition_up{partition=\"", name,
					 up ? 1 : 0);
		if (m < 0)
			break;
		n += m;
	}
	return (size_t) n < size ? (size_t) n : size - 1;
}
