//! The store contract, checked against every implementation: each behaviour is one function over
//! `&dyn Store`, run once on a `MemoryStore` and once on a `SqliteStore` in a fresh file.

#![allow(clippy::unwrap_used)] // test code: an unexpected error is the test failing

#[allow(dead_code)]
mod support;

use std::time::Duration;

use stripe_chat_message::MessageRef;
use stripe_chat_store::{
    AuditCheckpointRow, AuditRow, Claim, Delivered, DlqTarget, JobState, LeaseFilter,
    LedgerOutcome, LedgerStatus, NewJob, NewPending, Outcome, PendingChange, Pruned, RefUpdate,
    Stats, Store, StoreError,
};
use support::{at, event, event_of_type, t0};

const MINUTE: Duration = Duration::from_secs(60);

macro_rules! conformance {
    ($($behaviour:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $behaviour() {
                    let store = stripe_chat_store::MemoryStore::new();
                    super::$behaviour(&store).await;
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $behaviour() {
                    let dir = tempfile::tempdir().expect("a temporary directory");
                    let store = crate::support::open(&dir.path().join("store.db")).await;
                    super::$behaviour(&store).await;
                    store.close().await;
                }
            )*
        }
    };
}

conformance!(
    a_digest_is_leased_as_one_batch_once_its_window_ends,
    digests_are_separate_per_destination_and_key,
    a_digest_outcome_applies_to_every_job_of_its_batch,
    a_digest_retried_or_dead_lettered_moves_as_one,
    a_stale_digest_lease_changes_none_of_its_jobs,
    a_job_joining_a_leased_digest_waits_for_the_batch_outcome,
    replay_moves_a_job_into_the_digest_it_is_given,
    ingest_is_atomic_and_deduplicated,
    ingest_makes_one_job_per_destination_even_if_named_twice,
    ingest_of_an_invalid_event_writes_nothing,
    a_leased_job_is_invisible_to_other_workers_until_its_lease_expires,
    an_expired_lease_is_leased_again_when_its_worker_died,
    a_stale_outcome_with_an_old_lease_token_is_rejected,
    a_job_leased_again_by_the_same_lease_is_refused_after_its_outcome,
    lease_takes_the_oldest_due_jobs_up_to_max,
    a_job_is_not_leased_before_its_not_before,
    retry_schedules_the_job_at_the_given_time_and_records_the_error,
    a_dead_letter_is_listed_and_dlq_retry_makes_it_pending_again,
    dlq_retry_all_requeues_every_dead_job_and_nothing_else,
    replay_requeues_finished_jobs_and_adds_destinations,
    replay_of_an_unknown_event_is_not_found,
    complete_stores_the_message_ref_under_the_thread_key,
    an_older_event_never_overwrites_the_ref_of_a_newer_one,
    an_event_with_the_same_created_time_replaces_the_ref,
    jobs_of_one_thread_are_leased_one_at_a_time_oldest_event_first,
    threads_are_exclusive_per_destination_only,
    a_thread_backing_off_does_not_block_its_newer_jobs,
    queued_jobs_lists_unfinished_jobs_of_a_thread_oldest_event_first,
    supersede_cancels_only_pending_jobs,
    stats_count_jobs_by_state,
    prune_deletes_finished_jobs_and_orphaned_events_but_keeps_dead_letters,
    prunable_counts_what_prune_deletes_in_small_batches_and_prune_keeps_unfinished_work,
    reclaiming_space_after_a_prune_always_succeeds,
    a_zero_lease_duration_is_invalid,
    ping_succeeds_on_a_working_store,
    a_lease_filter_leaves_a_paused_destinations_jobs_pending,
    a_paused_destinations_backlog_never_hides_another_destinations_due_jobs,
    a_probe_lease_takes_only_its_destinations_jobs,
    a_deferred_job_keeps_its_attempt_and_its_last_error,
    a_deferred_digest_moves_as_one,
    backlog_counts_unfinished_jobs_per_destination_with_the_oldest_queue_time,
    a_dlq_retry_queues_the_job_anew,
    settle_records_each_outcome_as_its_own_method_does,
    a_refused_outcome_of_a_settle_leaves_the_others_recorded,
    a_settled_digest_outcome_applies_to_its_whole_batch,
    refs_move_only_forward_through_settle_too,
    settling_nothing_is_nothing,
    a_lease_counts_the_other_unfinished_jobs_of_each_jobs_thread,
    audit_records_append_only_in_order_and_read_back_byte_for_byte,
    audit_checkpoints_are_kept_once_per_size,
    an_interaction_id_is_new_once,
    a_pending_request_gets_an_unguessable_id_and_reads_back_as_stored,
    a_pending_request_moves_only_from_its_stage_and_before_it_expires,
    of_concurrent_moves_of_one_pending_request_exactly_one_succeeds,
    the_ledger_gives_a_key_to_one_claimer_and_replays_its_outcome,
    a_timed_out_action_is_claimed_again_under_the_same_key,
    a_claim_without_an_outcome_goes_stale_and_is_claimed_again,
    of_concurrent_claims_of_one_key_exactly_one_wins,
    the_latest_contact_and_the_last_assignment_are_kept,
    prune_forgets_old_interactions_expired_requests_and_finished_actions_only,
);

fn total(stats: Stats) -> u64 {
    stats.pending + stats.leased + stats.dead + stats.delivered + stats.superseded
}

async fn ingest_is_atomic_and_deduplicated(store: &dyn Store) {
    let jobs = vec![
        NewJob::new("slack").thread_key("invoice/in_1"),
        NewJob::new("teams"),
    ];
    let first = store
        .ingest(event("evt_1", 100), jobs.clone())
        .await
        .unwrap();
    assert!(!first.duplicate);
    assert_eq!(first.jobs_created, 2);
    for _ in 0..2 {
        let again = store
            .ingest(event("evt_1", 100), jobs.clone())
            .await
            .unwrap();
        assert!(again.duplicate);
        assert_eq!(again.jobs_created, 0);
    }
    // A redelivery routed differently still writes nothing.
    let rerouted = store
        .ingest(event("evt_1", 100), vec![NewJob::new("discord")])
        .await
        .unwrap();
    assert!(rerouted.duplicate);
    let stats = store.stats().await.unwrap();
    assert_eq!(stats.pending, 2);
    assert_eq!(total(stats), 2);
    let stored = store.event("evt_1").await.unwrap().unwrap();
    assert_eq!(stored.raw, event("evt_1", 100).raw);
    assert_eq!(stored.event_type, "invoice.paid");
    assert_eq!(stored.created, 100);
    assert_eq!(stored.account.as_deref(), Some("acct_1"));
    assert_eq!(stored.received_at, t0());
}

async fn ingest_makes_one_job_per_destination_even_if_named_twice(store: &dyn Store) {
    let jobs = vec![
        NewJob::new("slack"),
        NewJob::new("slack"),
        NewJob::new("teams"),
    ];
    let done = store.ingest(event("evt_1", 100), jobs).await.unwrap();
    assert_eq!(done.jobs_created, 2);
    let none = store.ingest(event("evt_2", 100), vec![]).await.unwrap();
    assert_eq!(none.jobs_created, 0);
    assert!(store.event("evt_2").await.unwrap().is_some());
}

async fn ingest_of_an_invalid_event_writes_nothing(store: &dyn Store) {
    let err = store
        .ingest(event("", 100), vec![NewJob::new("slack")])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }));
    let err = store
        .ingest(
            event("evt_1", 100),
            vec![NewJob::new("slack"), NewJob::new("")],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }));
    assert!(!err.is_transient());
    assert!(store.event("evt_1").await.unwrap().is_none());
    assert_eq!(total(store.stats().await.unwrap()), 0);
}

async fn a_leased_job_is_invisible_to_other_workers_until_its_lease_expires(store: &dyn Store) {
    store
        .ingest(event("evt_1", 100), vec![NewJob::new("slack")])
        .await
        .unwrap();
    let a = store.lease("a", 10, MINUTE, at(0)).await.unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].lease_until, at(60));
    assert!(
        store
            .lease("b", 10, MINUTE, at(0))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .lease("b", 10, MINUTE, at(59))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.stats().await.unwrap().leased, 1);
    let b = store.lease("b", 10, MINUTE, at(60)).await.unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].job_id, a[0].job_id);
}

async fn an_expired_lease_is_leased_again_when_its_worker_died(store: &dyn Store) {
    store
        .ingest(event("evt_1", 100), vec![NewJob::new("slack")])
        .await
        .unwrap();
    let first = store
        .lease("dies", 1, MINUTE, at(0))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(first.attempt, 1);
    // The worker never reports; after the lease another worker gets the job.
    let second = store
        .lease("lives", 1, MINUTE, at(61))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(second.job_id, first.job_id);
    assert_eq!(second.attempt, 2);
    assert_ne!(second.token, first.token);
    assert_eq!(second.event, first.event);
    store.complete(&second, Delivered::nothing()).await.unwrap();
    assert_eq!(store.stats().await.unwrap().delivered, 1);
}

async fn a_stale_outcome_with_an_old_lease_token_is_rejected(store: &dyn Store) {
    store
        .ingest(
            event("evt_1", 100),
            vec![NewJob::new("slack").thread_key("invoice/in_1")],
        )
        .await
        .unwrap();
    let slow = store
        .lease("slow", 1, MINUTE, at(0))
        .await
        .unwrap()
        .remove(0);
    let fast = store
        .lease("fast", 1, MINUTE, at(120))
        .await
        .unwrap()
        .remove(0);
    let late = Delivered::message(&slow, MessageRef::new("slack", "1.1"));
    let err = store.complete(&slow, late).await.unwrap_err();
    assert_eq!(
        err,
        StoreError::LeaseLost {
            job_id: slow.job_id
        }
    );
    assert!(
        store
            .retry(&slow, at(130), "timeout")
            .await
            .unwrap_err()
            .is_lease_lost()
    );
    assert!(
        store
            .dead_letter(&slow, "gave up")
            .await
            .unwrap_err()
            .is_lease_lost()
    );
    // The stale worker's ref was not stored; the current worker's outcome is accepted.
    assert!(
        store
            .message_ref("slack", "invoice/in_1")
            .await
            .unwrap()
            .is_none()
    );
    let sent = Delivered::message(&fast, MessageRef::new("slack", "2.2"));
    assert_eq!(
        store.complete(&fast, sent).await.unwrap(),
        RefUpdate::Stored
    );
}

async fn a_job_leased_again_by_the_same_lease_is_refused_after_its_outcome(store: &dyn Store) {
    store
        .ingest(event("evt_1", 100), vec![NewJob::new("slack")])
        .await
        .unwrap();
    let job = store.lease("w", 1, MINUTE, at(0)).await.unwrap().remove(0);
    store.retry(&job, at(0), "503").await.unwrap();
    // After an outcome the lease is spent, even before anyone leases the job again.
    assert!(
        store
            .complete(&job, Delivered::nothing())
            .await
            .unwrap_err()
            .is_lease_lost()
    );
    let again = store.lease("w", 1, MINUTE, at(0)).await.unwrap().remove(0);
    assert_eq!(again.attempt, 2);
    store.complete(&again, Delivered::nothing()).await.unwrap();
}

async fn lease_takes_the_oldest_due_jobs_up_to_max(store: &dyn Store) {
    for (i, received) in [30, 10, 20].into_iter().enumerate() {
        let mut e = event(&format!("evt_{i}"), 100);
        e.received_at = at(received);
        store.ingest(e, vec![NewJob::new("slack")]).await.unwrap();
    }
    let two = store.lease("w", 2, MINUTE, at(100)).await.unwrap();
    let ids: Vec<_> = two.iter().map(|j| j.event.id.as_str()).collect();
    assert_eq!(ids, ["evt_1", "evt_2"]);
    assert!(
        store
            .lease("w", 0, MINUTE, at(100))
            .await
            .unwrap()
            .is_empty()
    );
    let last = store.lease("w", 2, MINUTE, at(100)).await.unwrap();
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].event.id, "evt_0");
}

async fn a_job_is_not_leased_before_its_not_before(store: &dyn Store) {
    let window_end = at(300);
    store
        .ingest(
            event("evt_1", 100),
            vec![NewJob::new("digest").not_before(window_end)],
        )
        .await
        .unwrap();
    assert!(
        store
            .lease("w", 1, MINUTE, at(299))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.lease("w", 1, MINUTE, at(300)).await.unwrap().len(), 1);
}

async fn retry_schedules_the_job_at_the_given_time_and_records_the_error(store: &dyn Store) {
    store
        .ingest(
            event("evt_1", 100),
            vec![NewJob::new("slack").thread_key("invoice/in_1")],
        )
        .await
        .unwrap();
    let job = store.lease("w", 1, MINUTE, at(0)).await.unwrap().remove(0);
    store
        .retry(&job, at(10), "transient: slack answered 503")
        .await
        .unwrap();
    let queued = store.queued_jobs("slack", "invoice/in_1").await.unwrap();
    assert_eq!(queued[0].state, JobState::Pending);
    assert_eq!(queued[0].not_before, at(10));
    assert_eq!(queued[0].attempts, 1);
    assert_eq!(
        queued[0].last_error.as_deref(),
        Some("transient: slack answered 503")
    );
    assert!(store.lease("w", 1, MINUTE, at(9)).await.unwrap().is_empty());
    let again = store.lease("w", 1, MINUTE, at(10)).await.unwrap().remove(0);
    assert_eq!(again.attempt, 2);
}

async fn a_dead_letter_is_listed_and_dlq_retry_makes_it_pending_again(store: &dyn Store) {
    store
        .ingest(event("evt_1", 100), vec![NewJob::new("slack")])
        .await
        .unwrap();
    let job = store.lease("w", 1, MINUTE, at(0)).await.unwrap().remove(0);
    store
        .dead_letter(&job, "permanent: channel_not_found")
        .await
        .unwrap();
    assert!(
        store
            .lease("w", 1, MINUTE, at(1000))
            .await
            .unwrap()
            .is_empty()
    );
    let dead = store.dlq_list(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].id, job.job_id);
    assert_eq!(dead[0].event_id, "evt_1");
    assert_eq!(dead[0].event_type, "invoice.paid");
    assert_eq!(dead[0].destination, "slack");
    assert_eq!(dead[0].state, JobState::Dead);
    assert_eq!(
        dead[0].last_error.as_deref(),
        Some("permanent: channel_not_found")
    );

    assert_eq!(
        store
            .dlq_retry(DlqTarget::Job(job.job_id), at(2000))
            .await
            .unwrap(),
        1
    );
    assert!(store.dlq_list(10).await.unwrap().is_empty());
    assert_eq!(
        store
            .dlq_retry(DlqTarget::Job(job.job_id), at(2000))
            .await
            .unwrap(),
        0
    );
    assert!(
        store
            .lease("w", 1, MINUTE, at(1999))
            .await
            .unwrap()
            .is_empty()
    );
    let again = store
        .lease("w", 1, MINUTE, at(2000))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(again.job_id, job.job_id);
    assert_eq!(
        again.attempt, 1,
        "a retry from the DLQ starts counting again"
    );
}

async fn dlq_retry_all_requeues_every_dead_job_and_nothing_else(store: &dyn Store) {
    for id in ["evt_1", "evt_2", "evt_3"] {
        store
            .ingest(event(id, 100), vec![NewJob::new("slack")])
            .await
            .unwrap();
    }
    let jobs = store.lease("w", 3, MINUTE, at(0)).await.unwrap();
    store.dead_letter(&jobs[0], "x").await.unwrap();
    store.dead_letter(&jobs[1], "y").await.unwrap();
    store
        .complete(&jobs[2], Delivered::nothing())
        .await
        .unwrap();
    let listed: Vec<_> = store
        .dlq_list(10)
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(listed, [jobs[0].job_id, jobs[1].job_id]);
    assert_eq!(store.dlq_list(1).await.unwrap().len(), 1);
    assert_eq!(store.dlq_retry(DlqTarget::All, at(0)).await.unwrap(), 2);
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.pending, stats.dead, stats.delivered), (2, 0, 1));
}

async fn replay_requeues_finished_jobs_and_adds_destinations(store: &dyn Store) {
    store
        .ingest(
            event("evt_1", 100),
            vec![NewJob::new("slack"), NewJob::new("teams")],
        )
        .await
        .unwrap();
    let jobs = store.lease("w", 1, MINUTE, at(0)).await.unwrap();
    store
        .complete(&jobs[0], Delivered::nothing())
        .await
        .unwrap();
    // "teams" is still pending and stays as it is; "slack" is delivered and goes back.
    assert_eq!(store.replay("evt_1", vec![], at(50)).await.unwrap(), 1);
    assert_eq!(store.stats().await.unwrap().pending, 2);
    // A destination the event never had gets a job; one it has and is pending does not move.
    let more = vec![NewJob::new("discord"), NewJob::new("teams")];
    assert_eq!(store.replay("evt_1", more, at(50)).await.unwrap(), 1);
    assert_eq!(store.stats().await.unwrap().pending, 3);
    let leased = store.lease("w", 10, MINUTE, at(50)).await.unwrap();
    assert_eq!(leased.len(), 3);
    let replayed = leased.iter().find(|j| j.destination == "slack").unwrap();
    assert_eq!(
        replayed.job_id, jobs[0].job_id,
        "one job per (event, destination)"
    );
    assert_eq!(replayed.attempt, 1);
}

async fn replay_of_an_unknown_event_is_not_found(store: &dyn Store) {
    let err = store
        .replay("evt_missing", vec![], at(0))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { what: "event", .. }));
    assert!(!err.is_transient());
}

async fn complete_stores_the_message_ref_under_the_thread_key(store: &dyn Store) {
    store
        .ingest(
            event("evt_1", 100),
            vec![NewJob::new("slack").thread_key("invoice/in_1")],
        )
        .await
        .unwrap();
    let job = store.lease("w", 1, MINUTE, at(0)).await.unwrap().remove(0);
    assert!(job.current_ref.is_none());
    let sent = MessageRef::new("slack", "1700000000.000100").in_channel("C1");
    let outcome = store
        .complete(&job, Delivered::message(&job, sent.clone()))
        .await
        .unwrap();
    assert!(outcome.is_stored());
    let stored = store
        .message_ref("slack", "invoice/in_1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.message_ref, sent);
    assert_eq!(
        (stored.event_created, stored.event_id.as_str()),
        (100, "evt_1")
    );
    assert!(
        store
            .message_ref("teams", "invoice/in_1")
            .await
            .unwrap()
            .is_none()
    );

    // The next job of the object sees the message to update.
    store
        .ingest(
            event("evt_2", 200),
            vec![NewJob::new("slack").thread_key("invoice/in_1")],
        )
        .await
        .unwrap();
    let next = store.lease("w", 1, MINUTE, at(1)).await.unwrap().remove(0);
    assert_eq!(next.current_ref, Some(stored));
}

async fn an_older_event_never_overwrites_the_ref_of_a_newer_one(store: &dyn Store) {
    let thread = || vec![NewJob::new("slack").thread_key("invoice/in_1")];
    store.ingest(event("evt_new", 200), thread()).await.unwrap();
    let newer = store.lease("w", 1, MINUTE, at(0)).await.unwrap().remove(0);
    let newer_ref = MessageRef::new("slack", "2.0").in_channel("C1");
    store
        .complete(&newer, Delivered::message(&newer, newer_ref.clone()))
        .await
        .unwrap();

    // Stripe delivers an older event late.
    store.ingest(event("evt_old", 100), thread()).await.unwrap();
    let older = store.lease("w", 1, MINUTE, at(1)).await.unwrap().remove(0);
    assert_eq!(
        older.current_ref.as_ref().map(|r| r.event_created),
        Some(200)
    );
    let outcome = store
        .complete(
            &older,
            Delivered::message(&older, MessageRef::new("slack", "1.0")),
        )
        .await
        .unwrap();
    let RefUpdate::KeptNewer(current) = outcome else {
        panic!("an older event replaced the ref: {outcome:?}");
    };
    assert_eq!(current.event_id, "evt_new");
    let stored = store
        .message_ref("slack", "invoice/in_1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stored.message_ref, stored.event_created), (newer_ref, 200));
    // The job itself is done either way.
    assert_eq!(store.stats().await.unwrap().delivered, 2);
}

async fn an_event_with_the_same_created_time_replaces_the_ref(store: &dyn Store) {
    let thread = || vec![NewJob::new("slack").thread_key("invoice/in_1")];
    store
        .ingest(event_of_type("evt_a", "invoice.finalized", 100), thread())
        .await
        .unwrap();
    let a = store.lease("w", 1, MINUTE, at(0)).await.unwrap().remove(0);
    store
        .complete(&a, Delivered::message(&a, MessageRef::new("slack", "1")))
        .await
        .unwrap();
    store
        .ingest(event_of_type("evt_b", "invoice.paid", 100), thread())
        .await
        .unwrap();
    let b = store.lease("w", 1, MINUTE, at(0)).await.unwrap().remove(0);
    let outcome = store
        .complete(&b, Delivered::message(&b, MessageRef::new("slack", "1")))
        .await
        .unwrap();
    assert_eq!(outcome, RefUpdate::Stored);
    let stored = store
        .message_ref("slack", "invoice/in_1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.event_id, "evt_b");
}

async fn jobs_of_one_thread_are_leased_one_at_a_time_oldest_event_first(store: &dyn Store) {
    let thread = || vec![NewJob::new("slack").thread_key("invoice/in_1")];
    // Received newest first: Stripe does not guarantee order.
    store.ingest(event("evt_200", 200), thread()).await.unwrap();
    store.ingest(event("evt_100", 100), thread()).await.unwrap();
    store
        .ingest(event("evt_other", 150), vec![NewJob::new("slack")])
        .await
        .unwrap();

    let first = store.lease("a", 10, MINUTE, at(0)).await.unwrap();
    let ids: Vec<_> = first.iter().map(|j| j.event.id.as_str()).collect();
    assert_eq!(
        ids,
        ["evt_100", "evt_other"],
        "one job of the thread, the oldest event"
    );
    assert!(
        store
            .lease("b", 10, MINUTE, at(0))
            .await
            .unwrap()
            .is_empty()
    );

    let oldest = first.iter().find(|j| j.event.id == "evt_100").unwrap();
    store.complete(oldest, Delivered::nothing()).await.unwrap();
    let second = store.lease("b", 10, MINUTE, at(0)).await.unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].event.id, "evt_200");
}

async fn threads_are_exclusive_per_destination_only(store: &dyn Store) {
    let jobs = vec![
        NewJob::new("slack").thread_key("invoice/in_1"),
        NewJob::new("teams").thread_key("invoice/in_1"),
    ];
    store
        .ingest(event("evt_1", 100), jobs.clone())
        .await
        .unwrap();
    store.ingest(event("evt_2", 200), jobs).await.unwrap();
    let leased = store.lease("w", 10, MINUTE, at(0)).await.unwrap();
    let mut got: Vec<_> = leased
        .iter()
        .map(|j| (j.destination.as_str(), j.event.id.as_str()))
        .collect();
    got.sort_unstable();
    assert_eq!(got, [("slack", "evt_1"), ("teams", "evt_1")]);
}

async fn a_thread_backing_off_does_not_block_its_newer_jobs(store: &dyn Store) {
    let thread = || vec![NewJob::new("slack").thread_key("invoice/in_1")];
    store.ingest(event("evt_1", 100), thread()).await.unwrap();
    store.ingest(event("evt_2", 200), thread()).await.unwrap();
    let first = store.lease("w", 10, MINUTE, at(0)).await.unwrap().remove(0);
    assert_eq!(first.event.id, "evt_1");
    store.retry(&first, at(600), "rate limited").await.unwrap();
    let next = store.lease("w", 10, MINUTE, at(1)).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].event.id, "evt_2");
}

async fn queued_jobs_lists_unfinished_jobs_of_a_thread_oldest_event_first(store: &dyn Store) {
    let thread = |d: &str| NewJob::new(d).thread_key("invoice/in_1");
    store
        .ingest(
            event_of_type("evt_paid", "invoice.paid", 300),
            vec![thread("slack")],
        )
        .await
        .unwrap();
    store
        .ingest(
            event_of_type("evt_fail", "invoice.payment_failed", 200),
            vec![thread("slack")],
        )
        .await
        .unwrap();
    store
        .ingest(
            event_of_type("evt_done", "invoice.finalized", 100),
            vec![thread("slack"), thread("teams")],
        )
        .await
        .unwrap();
    let done = store.lease("w", 1, MINUTE, at(0)).await.unwrap().remove(0);
    assert_eq!(done.event.id, "evt_done");
    store.complete(&done, Delivered::nothing()).await.unwrap();

    let leased = store.lease("w", 1, MINUTE, at(0)).await.unwrap().remove(0);
    let queued = store.queued_jobs("slack", "invoice/in_1").await.unwrap();
    let listed: Vec<_> = queued
        .iter()
        .map(|j| (j.event_id.as_str(), j.state))
        .collect();
    assert_eq!(
        listed,
        [
            ("evt_fail", JobState::Leased),
            ("evt_paid", JobState::Pending)
        ],
        "finished jobs and other destinations are not listed"
    );
    assert_eq!(leased.event.id, "evt_fail");
    assert_eq!(queued[1].event_type, "invoice.paid");
    assert_eq!(queued[1].event_created, 300);
}

async fn supersede_cancels_only_pending_jobs(store: &dyn Store) {
    let thread = || vec![NewJob::new("slack").thread_key("invoice/in_1")];
    store
        .ingest(event_of_type("evt_paid", "invoice.paid", 200), thread())
        .await
        .unwrap();
    store
        .ingest(
            event_of_type("evt_fail", "invoice.payment_failed", 300),
            thread(),
        )
        .await
        .unwrap();
    let paid = store.lease("w", 1, MINUTE, at(0)).await.unwrap().remove(0);
    assert_eq!(paid.event.id, "evt_paid");
    // While delivering "paid", inhibit the failure notice still queued for the invoice.
    let queued = store.queued_jobs("slack", "invoice/in_1").await.unwrap();
    let failure = queued
        .iter()
        .find(|j| j.event_type == "invoice.payment_failed")
        .unwrap();
    assert!(
        store
            .supersede(failure.id, "invoice paid since")
            .await
            .unwrap()
    );
    assert!(
        !store
            .supersede(paid.job_id, "leased jobs are left alone")
            .await
            .unwrap()
    );
    assert!(
        !store
            .supersede(stripe_chat_store::JobId(9999), "unknown")
            .await
            .unwrap()
    );
    store.complete(&paid, Delivered::nothing()).await.unwrap();
    assert!(
        store
            .lease("w", 10, MINUTE, at(1))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .queued_jobs("slack", "invoice/in_1")
            .await
            .unwrap()
            .is_empty()
    );
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.superseded, stats.delivered), (1, 1));
    // A superseded job can be replayed like a finished one.
    assert_eq!(store.replay("evt_fail", vec![], at(2)).await.unwrap(), 1);
}

async fn stats_count_jobs_by_state(store: &dyn Store) {
    for id in ["evt_1", "evt_2", "evt_3", "evt_4", "evt_5"] {
        store
            .ingest(event(id, 100), vec![NewJob::new("slack")])
            .await
            .unwrap();
    }
    let jobs = store.lease("w", 4, MINUTE, at(0)).await.unwrap();
    store
        .complete(&jobs[0], Delivered::nothing())
        .await
        .unwrap();
    store.dead_letter(&jobs[1], "x").await.unwrap();
    store.retry(&jobs[2], at(5), "y").await.unwrap();
    let stats = store.stats().await.unwrap();
    assert_eq!(
        stats,
        Stats {
            pending: 2,
            leased: 1,
            dead: 1,
            delivered: 1,
            superseded: 0
        }
    );
}

async fn prune_deletes_finished_jobs_and_orphaned_events_but_keeps_dead_letters(store: &dyn Store) {
    for id in ["evt_1", "evt_2", "evt_3"] {
        store
            .ingest(
                event(id, 100),
                vec![NewJob::new("slack").thread_key("invoice/in_1")],
            )
            .await
            .unwrap();
    }
    store
        .ingest(event("evt_unrouted", 100), vec![])
        .await
        .unwrap();
    let first = store.lease("w", 1, MINUTE, at(0)).await.unwrap().remove(0);
    store
        .complete(
            &first,
            Delivered::message(&first, MessageRef::new("slack", "1")),
        )
        .await
        .unwrap();
    let second = store.lease("w", 1, MINUTE, at(0)).await.unwrap().remove(0);
    store.dead_letter(&second, "gave up").await.unwrap();

    // Nothing is old enough yet (bookkeeping times are the wall clock, events were received at t0).
    let past = t0() - MINUTE;
    assert_eq!(store.prune(past, 100).await.unwrap(), Default::default());

    let future = std::time::SystemTime::now() + Duration::from_secs(3600);
    let pruned = store.prune(future, 100).await.unwrap();
    assert_eq!((pruned.jobs, pruned.events), (1, 2));
    assert!(store.event(&first.event.id).await.unwrap().is_none());
    assert!(store.event("evt_unrouted").await.unwrap().is_none());
    assert!(
        store.event(&second.event.id).await.unwrap().is_some(),
        "dead letters keep their event"
    );
    assert_eq!(store.dlq_list(10).await.unwrap().len(), 1);
    assert_eq!(store.stats().await.unwrap().pending, 1);
    assert!(
        store
            .message_ref("slack", "invoice/in_1")
            .await
            .unwrap()
            .is_some()
    );
    // A pruned event id is accepted again (it is no longer deduplicated).
    let again = store
        .ingest(event(&first.event.id, 100), vec![])
        .await
        .unwrap();
    assert!(!again.duplicate);
    assert_eq!(store.prune(future, 100).await.unwrap().jobs, 0);
}

async fn prunable_counts_what_prune_deletes_in_small_batches_and_prune_keeps_unfinished_work(
    store: &dyn Store,
) {
    // Delivered (one of them with a message ref), superseded, dead, leased, pending, unrouted,
    // and an event with one delivered and one pending job.
    for i in 0..6 {
        store
            .ingest(
                event(&format!("evt_{i}"), 100 + i),
                vec![NewJob::new("slack").thread_key(format!("invoice/in_{i}"))],
            )
            .await
            .unwrap();
    }
    store
        .ingest(event("evt_unrouted", 100), vec![])
        .await
        .unwrap();
    store
        .ingest(
            event("evt_split", 100),
            vec![
                NewJob::new("teams"),
                NewJob::new("discord").not_before(at(3600)),
            ],
        )
        .await
        .unwrap();
    let mut leased = store.lease("w", 10, MINUTE, at(0)).await.unwrap();
    leased.sort_by(|a, b| a.event.id.cmp(&b.event.id));
    let ids: Vec<&str> = leased.iter().map(|j| j.event.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "evt_0",
            "evt_1",
            "evt_2",
            "evt_3",
            "evt_4",
            "evt_5",
            "evt_split"
        ]
    );
    let shown = MessageRef::new("slack", "1");
    store
        .complete(&leased[0], Delivered::message(&leased[0], shown))
        .await
        .unwrap();
    store
        .complete(&leased[1], Delivered::nothing())
        .await
        .unwrap();
    store.dead_letter(&leased[2], "gave up").await.unwrap();
    store.retry(&leased[3], at(30), "later").await.unwrap();
    store
        .complete(&leased[6], Delivered::nothing())
        .await
        .unwrap();
    // leased[4] stays leased; leased[5] is put back and superseded.
    store.retry(&leased[5], at(10), "x").await.unwrap();
    let superseded = store.queued_jobs("slack", "invoice/in_5").await.unwrap();
    assert!(
        store
            .supersede(superseded[0].id, "paid since")
            .await
            .unwrap()
    );
    // A thread whose message stays: a later update of it was dead-lettered.
    store
        .ingest(
            event("evt_shown", 200),
            vec![NewJob::new("slack").thread_key("invoice/in_9")],
        )
        .await
        .unwrap();
    let shown = store.lease("w", 10, MINUTE, at(0)).await.unwrap();
    let shown = shown.iter().find(|j| j.event.id == "evt_shown").unwrap();
    let message = MessageRef::new("slack", "9");
    store
        .complete(shown, Delivered::message(shown, message))
        .await
        .unwrap();
    store
        .ingest(
            event("evt_update", 201),
            vec![NewJob::new("slack").thread_key("invoice/in_9")],
        )
        .await
        .unwrap();
    let update = store.lease("w", 10, MINUTE, at(0)).await.unwrap();
    let update = update.iter().find(|j| j.event.id == "evt_update").unwrap();
    store.dead_letter(update, "gave up").await.unwrap();
    // The newest job (ids are never reused) is a finished one.
    store
        .ingest(event("evt_last", 100), vec![NewJob::new("slack")])
        .await
        .unwrap();
    let last = store.lease("w", 10, MINUTE, at(0)).await.unwrap();
    let last = last.iter().find(|j| j.event.id == "evt_last").unwrap();
    store.complete(last, Delivered::nothing()).await.unwrap();

    let past = t0() - MINUTE;
    assert_eq!(store.prunable(past).await.unwrap(), Default::default());
    let future = std::time::SystemTime::now() + Duration::from_secs(3600);
    let counted = store.prunable(future).await.unwrap();
    // Jobs: evt_0, evt_1, evt_5 (superseded), evt_split/teams, evt_shown; not evt_last's (the
    // newest). Events: the same but evt_split, and evt_unrouted. Refs: invoice/in_0 (in_9 has a
    // dead job left).
    assert_eq!((counted.jobs, counted.events, counted.refs), (5, 5, 1));
    let before = store.stats().await.unwrap();

    let mut total = stripe_chat_store::Pruned::default();
    loop {
        let pruned = store.prune(future, 1).await.unwrap();
        assert!(
            pruned.jobs <= 1 && pruned.events <= 1 && pruned.refs <= 1,
            "{pruned:?}"
        );
        if pruned.is_empty() {
            break;
        }
        total.jobs += pruned.jobs;
        total.events += pruned.events;
        total.refs += pruned.refs;
    }
    assert_eq!(total, counted);
    assert_eq!(store.prunable(future).await.unwrap(), Default::default());

    let after = store.stats().await.unwrap();
    assert_eq!(after.pending, before.pending, "pending jobs are kept");
    assert_eq!(after.leased, 1, "leased jobs are kept");
    assert_eq!(after.dead, 2, "dead letters are kept");
    for kept in [
        "evt_2",
        "evt_3",
        "evt_4",
        "evt_split",
        "evt_update",
        "evt_last",
    ] {
        assert!(store.event(kept).await.unwrap().is_some(), "{kept}");
    }
    for gone in ["evt_0", "evt_1", "evt_5", "evt_unrouted", "evt_shown"] {
        assert!(store.event(gone).await.unwrap().is_none(), "{gone}");
    }
    let kept = store.message_ref("slack", "invoice/in_9").await.unwrap();
    assert_eq!(
        kept.map(|r| r.event_id).as_deref(),
        Some("evt_shown"),
        "the message a dead-lettered update is for is kept"
    );
    assert!(
        store
            .message_ref("slack", "invoice/in_0")
            .await
            .unwrap()
            .is_none(),
        "the message of an object silent since and without jobs is forgotten"
    );
    // The kept work still runs: the leased job completes, the pending one is leased.
    store
        .complete(&leased[4], Delivered::nothing())
        .await
        .unwrap();
    let due = store.lease("w", 10, MINUTE, at(3600)).await.unwrap();
    let mut due: Vec<&str> = due.iter().map(|j| j.event.id.as_str()).collect();
    due.sort_unstable();
    assert_eq!(due, ["evt_3", "evt_split"]);
}

async fn reclaiming_space_after_a_prune_always_succeeds(store: &dyn Store) {
    store.ingest(event("evt_1", 100), vec![]).await.unwrap();
    let future = std::time::SystemTime::now() + Duration::from_secs(3600);
    assert_eq!(store.prune(future, 100).await.unwrap().events, 1);
    let mut rounds = 0;
    while store.reclaim_space(4096).await.unwrap() > 0 {
        rounds += 1;
        assert!(rounds < 1000, "reclaiming never ends");
    }
}

async fn a_zero_lease_duration_is_invalid(store: &dyn Store) {
    let err = store
        .lease("w", 1, Duration::ZERO, at(0))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }));
}

async fn ping_succeeds_on_a_working_store(store: &dyn Store) {
    store.ping().await.unwrap();
}

/// Ingests `ids` as events each with one job for `destination` collected into `digest`, due at
/// `due`.
async fn ingest_digest(store: &dyn Store, ids: &[&str], destination: &str, digest: &str, due: u64) {
    for id in ids {
        let job = NewJob::new(destination).digest(digest).not_before(at(due));
        store.ingest(event(id, 100), vec![job]).await.unwrap();
    }
}

fn batch_events(job: &stripe_chat_store::LeasedJob) -> Vec<&str> {
    let batch = job.digest.as_ref().expect("a digest batch");
    batch.events().map(|e| e.id.as_str()).collect()
}

async fn a_digest_is_leased_as_one_batch_once_its_window_ends(store: &dyn Store) {
    ingest_digest(
        store,
        &["evt_1", "evt_2", "evt_3"],
        "slack",
        "sales/0/60",
        60,
    )
    .await;
    store
        .ingest(event("evt_plain", 100), vec![NewJob::new("slack")])
        .await
        .unwrap();
    let before = store.lease("w", 8, MINUTE, at(30)).await.unwrap();
    assert_eq!(
        before.len(),
        1,
        "only the plain job is due inside the window"
    );
    assert!(before[0].digest.is_none());
    let after = store.lease("w", 8, MINUTE, at(60)).await.unwrap();
    assert_eq!(after.len(), 1, "one lease for the whole digest");
    assert_eq!(batch_events(&after[0]), ["evt_1", "evt_2", "evt_3"]);
    assert_eq!(after[0].digest.as_ref().unwrap().key, "sales/0/60");
    assert_eq!(
        after[0].event.id, "evt_1",
        "the lease's own job is the batch's first"
    );
    assert!(
        store
            .lease("other", 8, MINUTE, at(60))
            .await
            .unwrap()
            .is_empty(),
        "the batch is held as a whole"
    );
    assert_eq!(store.stats().await.unwrap().leased, 4);
}

async fn digests_are_separate_per_destination_and_key(store: &dyn Store) {
    for id in ["evt_1", "evt_2"] {
        let jobs = vec![
            NewJob::new("slack").digest("sales/0/60").not_before(at(60)),
            NewJob::new("teams").digest("sales/0/60").not_before(at(60)),
        ];
        store.ingest(event(id, 100), jobs).await.unwrap();
    }
    ingest_digest(store, &["evt_3"], "slack", "sales/60/60", 60).await;
    let mut leased = store.lease("w", 8, MINUTE, at(60)).await.unwrap();
    leased.sort_by_key(|j| {
        (
            j.destination.clone(),
            j.digest.as_ref().unwrap().key.clone(),
        )
    });
    let shape: Vec<(&str, &str, usize)> = leased
        .iter()
        .map(|j| {
            let batch = j.digest.as_ref().unwrap();
            (j.destination.as_str(), batch.key.as_str(), batch.jobs.len())
        })
        .collect();
    assert_eq!(
        shape,
        [
            ("slack", "sales/0/60", 2),
            ("slack", "sales/60/60", 1),
            ("teams", "sales/0/60", 2)
        ]
    );
}

async fn a_digest_outcome_applies_to_every_job_of_its_batch(store: &dyn Store) {
    ingest_digest(
        store,
        &["evt_1", "evt_2", "evt_3"],
        "slack",
        "sales/0/60",
        60,
    )
    .await;
    let job = store.lease("w", 8, MINUTE, at(60)).await.unwrap().remove(0);
    let sent = MessageRef::new("slack", "1.1");
    assert_eq!(
        store
            .complete(
                &job,
                Delivered {
                    message_ref: Some(sent),
                    thread_key: None
                }
            )
            .await
            .unwrap(),
        RefUpdate::NotStored
    );
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.delivered, stats.leased, stats.pending), (3, 0, 0));
    assert!(
        store
            .complete(&job, Delivered::nothing())
            .await
            .unwrap_err()
            .is_lease_lost(),
        "the batch's lease is spent"
    );
    assert!(
        store
            .lease("w", 8, MINUTE, at(600))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_digest_retried_or_dead_lettered_moves_as_one(store: &dyn Store) {
    ingest_digest(
        store,
        &["evt_1", "evt_2", "evt_3"],
        "slack",
        "sales/0/60",
        60,
    )
    .await;
    let first = store.lease("w", 8, MINUTE, at(60)).await.unwrap().remove(0);
    store
        .retry(&first, at(90), "slack answered 503")
        .await
        .unwrap();
    assert_eq!(store.stats().await.unwrap().pending, 3);
    assert!(
        store
            .lease("w", 8, MINUTE, at(89))
            .await
            .unwrap()
            .is_empty()
    );
    let second = store.lease("w", 8, MINUTE, at(90)).await.unwrap().remove(0);
    assert_eq!(second.attempt, 2);
    assert_eq!(batch_events(&second), ["evt_1", "evt_2", "evt_3"]);
    store
        .dead_letter(&second, "permanent: channel_not_found")
        .await
        .unwrap();
    let dead = store.dlq_list(10).await.unwrap();
    assert_eq!(dead.len(), 3);
    assert!(
        dead.iter()
            .all(|j| j.digest.as_deref() == Some("sales/0/60")
                && j.last_error.as_deref() == Some("permanent: channel_not_found"))
    );
    // Retrying one job of the digest brings its whole digest back, as one batch.
    assert_eq!(
        store
            .dlq_retry(DlqTarget::Job(dead[1].id), at(100))
            .await
            .unwrap(),
        3
    );
    let third = store.lease("w", 8, MINUTE, at(100)).await.unwrap();
    assert_eq!(third.len(), 1);
    assert_eq!(third[0].attempt, 1);
    assert_eq!(batch_events(&third[0]), ["evt_1", "evt_2", "evt_3"]);
}

async fn a_stale_digest_lease_changes_none_of_its_jobs(store: &dyn Store) {
    ingest_digest(store, &["evt_1", "evt_2"], "slack", "sales/0/60", 60).await;
    let slow = store
        .lease("slow", 8, MINUTE, at(60))
        .await
        .unwrap()
        .remove(0);
    // The slow worker's lease runs out; another worker takes the whole digest back.
    let fast = store
        .lease("fast", 8, MINUTE, at(200))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(batch_events(&fast), ["evt_1", "evt_2"]);
    for outcome in [
        store
            .complete(&slow, Delivered::nothing())
            .await
            .map(|_| ()),
        store.retry(&slow, at(210), "timeout").await,
        store.dead_letter(&slow, "gave up").await,
    ] {
        assert_eq!(
            outcome.unwrap_err(),
            StoreError::LeaseLost {
                job_id: slow.job_id
            }
        );
    }
    assert_eq!(
        store.stats().await.unwrap().leased,
        2,
        "nothing was changed"
    );
    store.complete(&fast, Delivered::nothing()).await.unwrap();
    assert_eq!(store.stats().await.unwrap().delivered, 2);
}

async fn a_job_joining_a_leased_digest_waits_for_the_batch_outcome(store: &dyn Store) {
    ingest_digest(store, &["evt_1", "evt_2"], "slack", "sales/0/60", 60).await;
    let batch = store.lease("w", 8, MINUTE, at(60)).await.unwrap().remove(0);
    // A late event of the same window, due at once.
    ingest_digest(store, &["evt_late"], "slack", "sales/0/60", 60).await;
    assert!(
        store
            .lease("w", 8, MINUTE, at(61))
            .await
            .unwrap()
            .is_empty()
    );
    store.complete(&batch, Delivered::nothing()).await.unwrap();
    let late = store.lease("w", 8, MINUTE, at(62)).await.unwrap();
    assert_eq!(late.len(), 1);
    assert_eq!(
        batch_events(&late[0]),
        ["evt_late"],
        "delivered once, in a batch of its own"
    );
}

async fn replay_moves_a_job_into_the_digest_it_is_given(store: &dyn Store) {
    store
        .ingest(event("evt_1", 100), vec![NewJob::new("slack")])
        .await
        .unwrap();
    let job = store.lease("w", 1, MINUTE, at(0)).await.unwrap().remove(0);
    store.complete(&job, Delivered::nothing()).await.unwrap();
    let again = NewJob::new("slack")
        .digest("sales/60/60")
        .not_before(at(120));
    assert_eq!(
        store.replay("evt_1", vec![again], at(100)).await.unwrap(),
        1
    );
    assert!(
        store
            .lease("w", 8, MINUTE, at(119))
            .await
            .unwrap()
            .is_empty()
    );
    let replayed = store
        .lease("w", 8, MINUTE, at(120))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(batch_events(&replayed), ["evt_1"]);
}

async fn a_lease_filter_leaves_a_paused_destinations_jobs_pending(store: &dyn Store) {
    store
        .ingest(
            event("evt_1", 100),
            vec![NewJob::new("slack"), NewJob::new("teams")],
        )
        .await
        .unwrap();
    let paused = LeaseFilter::all().skip(["slack"]);
    let jobs = store
        .lease_where("w", 8, MINUTE, at(0), &paused)
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].destination, "teams");
    assert!(
        store
            .lease_where("w", 8, MINUTE, at(0), &paused)
            .await
            .unwrap()
            .is_empty()
    );
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.pending, stats.leased), (1, 1));
    let slack = store.lease("w", 8, MINUTE, at(0)).await.unwrap();
    assert_eq!(slack[0].destination, "slack");
    assert_eq!(slack[0].attempt, 1, "the paused job spent no attempt");
}

async fn a_paused_destinations_backlog_never_hides_another_destinations_due_jobs(
    store: &dyn Store,
) {
    // Far more due jobs of the paused destination than one lease scans, all older.
    for i in 0..200 {
        let mut e = event(&format!("evt_slack_{i}"), 100);
        e.received_at = at(i);
        store.ingest(e, vec![NewJob::new("slack")]).await.unwrap();
    }
    let mut e = event("evt_teams", 100);
    e.received_at = at(500);
    store.ingest(e, vec![NewJob::new("teams")]).await.unwrap();
    let jobs = store
        .lease_where("w", 1, MINUTE, at(600), &LeaseFilter::all().skip(["slack"]))
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].event.id, "evt_teams");
}

async fn a_probe_lease_takes_only_its_destinations_jobs(store: &dyn Store) {
    for (i, destination) in ["teams", "slack", "slack"].into_iter().enumerate() {
        let mut e = event(&format!("evt_{i}"), 100);
        e.received_at = at(i as u64);
        store
            .ingest(e, vec![NewJob::new(destination)])
            .await
            .unwrap();
    }
    let probe = store
        .lease_where("w", 1, MINUTE, at(10), &LeaseFilter::only("slack"))
        .await
        .unwrap();
    assert_eq!(probe.len(), 1);
    assert_eq!(
        probe[0].event.id, "evt_1",
        "the oldest due job of the destination"
    );
}

async fn a_deferred_job_keeps_its_attempt_and_its_last_error(store: &dyn Store) {
    store
        .ingest(
            event("evt_1", 100),
            vec![NewJob::new("slack").thread_key("invoice/in_1")],
        )
        .await
        .unwrap();
    let job = store.lease("w", 1, MINUTE, at(0)).await.unwrap().remove(0);
    store
        .retry(&job, at(1), "transient: slack answered 503")
        .await
        .unwrap();
    let job = store.lease("w", 1, MINUTE, at(1)).await.unwrap().remove(0);
    assert_eq!(job.attempt, 2);
    store.defer(&job, at(30)).await.unwrap();
    assert!(
        store.defer(&job, at(30)).await.unwrap_err().is_lease_lost(),
        "a deferral is an outcome of its lease"
    );
    let queued = store.queued_jobs("slack", "invoice/in_1").await.unwrap();
    assert_eq!(queued[0].state, JobState::Pending);
    assert_eq!(queued[0].not_before, at(30));
    assert_eq!(queued[0].attempts, 1);
    assert_eq!(
        queued[0].last_error.as_deref(),
        Some("transient: slack answered 503")
    );
    assert!(
        store
            .lease("w", 1, MINUTE, at(29))
            .await
            .unwrap()
            .is_empty()
    );
    let again = store.lease("w", 1, MINUTE, at(30)).await.unwrap().remove(0);
    assert_eq!(again.attempt, 2);
}

async fn a_deferred_digest_moves_as_one(store: &dyn Store) {
    ingest_digest(store, &["evt_1", "evt_2"], "slack", "d/1", 60).await;
    let batch = store.lease("w", 8, MINUTE, at(60)).await.unwrap().remove(0);
    assert_eq!(batch_events(&batch).len(), 2);
    store.defer(&batch, at(90)).await.unwrap();
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.pending, stats.leased), (2, 0));
    let again = store.lease("w", 8, MINUTE, at(90)).await.unwrap().remove(0);
    assert_eq!(batch_events(&again).len(), 2);
    assert_eq!(again.attempt, 1);
}

async fn backlog_counts_unfinished_jobs_per_destination_with_the_oldest_queue_time(
    store: &dyn Store,
) {
    assert!(store.backlog().await.unwrap().is_empty());
    for i in 0..3 {
        let mut e = event(&format!("evt_{i}"), 100);
        e.received_at = at(10 - i);
        store
            .ingest(e, vec![NewJob::new("slack"), NewJob::new("teams")])
            .await
            .unwrap();
    }
    let leased = store
        .lease_where("w", 1, MINUTE, at(20), &LeaseFilter::only("teams"))
        .await
        .unwrap()
        .remove(0);
    store.complete(&leased, Delivered::nothing()).await.unwrap();
    let backlog = store.backlog().await.unwrap();
    let counts: Vec<_> = backlog
        .iter()
        .map(|b| (b.destination.as_str(), b.queued))
        .collect();
    assert_eq!(counts, [("slack", 3), ("teams", 2)]);
    assert_eq!(backlog[0].oldest_queued_at, Some(at(8)));
    assert_eq!(
        backlog[1].oldest_queued_at,
        Some(at(9)),
        "the delivered teams job no longer counts"
    );
}

async fn a_dlq_retry_queues_the_job_anew(store: &dyn Store) {
    store
        .ingest(event("evt_1", 100), vec![NewJob::new("slack")])
        .await
        .unwrap();
    let job = store.lease("w", 1, MINUTE, at(0)).await.unwrap().remove(0);
    assert_eq!(job.queued_at, t0(), "queued when received");
    store.dead_letter(&job, "permanent: gone").await.unwrap();
    store.dlq_retry(DlqTarget::All, at(100)).await.unwrap();
    let again = store
        .lease("w", 1, MINUTE, at(100))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(again.queued_at, at(100), "a horizon counts from the retry");
}

async fn settle_records_each_outcome_as_its_own_method_does(store: &dyn Store) {
    for i in 1..=4 {
        store
            .ingest(
                event(&format!("evt_{i}"), 100),
                vec![NewJob::new("slack").thread_key(format!("invoice/in_{i}"))],
            )
            .await
            .unwrap();
    }
    let jobs = store.lease("w", 8, MINUTE, at(0)).await.unwrap();
    let by_event = |id: &str| jobs.iter().find(|j| j.event.id == id).unwrap();
    let (done, retried, deferred, dead) = (
        by_event("evt_1"),
        by_event("evt_2"),
        by_event("evt_3"),
        by_event("evt_4"),
    );
    let sent = MessageRef::new("slack", "1.1");
    let results = store
        .settle(vec![
            (
                done,
                Outcome::Complete(Delivered::message(done, sent.clone())),
            ),
            (
                retried,
                Outcome::Retry {
                    at: at(30),
                    error: "slack answered 503".into(),
                },
            ),
            (deferred, Outcome::Defer { at: at(20) }),
            (
                dead,
                Outcome::DeadLetter {
                    error: "permanent: channel_not_found".into(),
                },
            ),
        ])
        .await;
    assert_eq!(
        results,
        [
            Ok(RefUpdate::Stored),
            Ok(RefUpdate::NotStored),
            Ok(RefUpdate::NotStored),
            Ok(RefUpdate::NotStored)
        ]
    );
    let shown = store.message_ref("slack", "invoice/in_1").await.unwrap();
    assert_eq!(shown.map(|r| r.message_ref), Some(sent));
    let stats = store.stats().await.unwrap();
    assert_eq!(
        (stats.delivered, stats.pending, stats.dead, stats.leased),
        (1, 2, 1, 0)
    );
    let retry = &store.queued_jobs("slack", "invoice/in_2").await.unwrap()[0];
    assert_eq!(
        (retry.not_before, retry.last_error.as_deref()),
        (at(30), Some("slack answered 503"))
    );
    let dead_letters = store.dlq_list(10).await.unwrap();
    assert_eq!(
        dead_letters[0].last_error.as_deref(),
        Some("permanent: channel_not_found")
    );
    // The deferral gave its attempt back; the retry spent one.
    let again = store.lease("w", 8, MINUTE, at(30)).await.unwrap();
    let attempt = |id: &str| again.iter().find(|j| j.event.id == id).unwrap().attempt;
    assert_eq!((attempt("evt_3"), attempt("evt_2")), (1, 2));
}

async fn a_refused_outcome_of_a_settle_leaves_the_others_recorded(store: &dyn Store) {
    for i in 1..=3 {
        store
            .ingest(event(&format!("evt_{i}"), 100), vec![NewJob::new("slack")])
            .await
            .unwrap();
    }
    // evt_1's first lease runs out and a second worker takes the job back.
    let stale = store
        .lease("slow", 1, MINUTE, at(0))
        .await
        .unwrap()
        .remove(0);
    let current = store.lease("fast", 8, MINUTE, at(120)).await.unwrap();
    assert_eq!(current.len(), 3);
    let retaken = current.iter().find(|j| j.job_id == stale.job_id).unwrap();
    let others: Vec<_> = current
        .iter()
        .filter(|j| j.job_id != stale.job_id)
        .collect();
    let results = store
        .settle(vec![
            (others[0], Outcome::Complete(Delivered::nothing())),
            (&stale, Outcome::Complete(Delivered::nothing())),
            // A second outcome for one lease, in the same request.
            (others[0], Outcome::DeadLetter { error: "x".into() }),
            (others[1], Outcome::Complete(Delivered::nothing())),
        ])
        .await;
    assert_eq!(results[0], Ok(RefUpdate::NotStored));
    assert_eq!(
        results[1],
        Err(StoreError::LeaseLost {
            job_id: stale.job_id
        })
    );
    assert!(results[2].as_ref().unwrap_err().is_lease_lost());
    assert_eq!(results[3], Ok(RefUpdate::NotStored));
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.delivered, stats.leased, stats.dead), (2, 1, 0));
    // The current lease of the retaken job is untouched.
    assert_eq!(
        store.complete(retaken, Delivered::nothing()).await.unwrap(),
        RefUpdate::NotStored
    );
}

async fn a_settled_digest_outcome_applies_to_its_whole_batch(store: &dyn Store) {
    ingest_digest(
        store,
        &["evt_1", "evt_2", "evt_3"],
        "slack",
        "sales/0/60",
        60,
    )
    .await;
    store
        .ingest(event("evt_4", 100), vec![NewJob::new("teams")])
        .await
        .unwrap();
    let leased = store.lease("w", 8, MINUTE, at(60)).await.unwrap();
    let batch = leased.iter().find(|j| j.digest.is_some()).unwrap();
    let single = leased.iter().find(|j| j.digest.is_none()).unwrap();
    let results = store
        .settle(vec![
            (
                batch,
                Outcome::Retry {
                    at: at(90),
                    error: "slack answered 503".into(),
                },
            ),
            (single, Outcome::Complete(Delivered::nothing())),
        ])
        .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.pending, stats.delivered, stats.leased), (3, 1, 0));
    let again = store.lease("w", 8, MINUTE, at(90)).await.unwrap();
    assert_eq!(batch_events(&again[0]).len(), 3);
}

async fn refs_move_only_forward_through_settle_too(store: &dyn Store) {
    let thread = || vec![NewJob::new("slack").thread_key("invoice/in_1")];
    store.ingest(event("evt_old", 100), thread()).await.unwrap();
    store.ingest(event("evt_new", 200), thread()).await.unwrap();
    // The older event backs off, so the newer one is delivered first.
    let old = store.lease("w", 8, MINUTE, at(0)).await.unwrap().remove(0);
    assert_eq!(old.event.id, "evt_old");
    store.retry(&old, at(60), "503").await.unwrap();
    let new = store.lease("w", 8, MINUTE, at(1)).await.unwrap().remove(0);
    let newer = MessageRef::new("slack", "2.2");
    let stored = store
        .settle(vec![(
            &new,
            Outcome::Complete(Delivered::message(&new, newer.clone())),
        )])
        .await;
    assert_eq!(stored, [Ok(RefUpdate::Stored)]);
    let old = store.lease("w", 8, MINUTE, at(60)).await.unwrap().remove(0);
    let kept = store
        .settle(vec![(
            &old,
            Outcome::Complete(Delivered::message(&old, MessageRef::new("slack", "1.1"))),
        )])
        .await;
    match &kept[..] {
        [Ok(RefUpdate::KeptNewer(current))] => {
            assert_eq!(
                (current.event_id.as_str(), &current.message_ref),
                ("evt_new", &newer)
            );
        }
        other => panic!("the older event replaced the newer one's ref: {other:?}"),
    }
}

async fn settling_nothing_is_nothing(store: &dyn Store) {
    assert!(store.settle(Vec::new()).await.is_empty());
}

async fn a_lease_counts_the_other_unfinished_jobs_of_each_jobs_thread(store: &dyn Store) {
    let slack = |key: &str| NewJob::new("slack").thread_key(key);
    for (id, created) in [("evt_1", 100), ("evt_2", 200), ("evt_3", 300)] {
        let jobs = vec![
            slack("invoice/in_1"),
            NewJob::new("teams").thread_key("invoice/in_1"),
        ];
        store.ingest(event(id, created), jobs).await.unwrap();
    }
    store
        .ingest(event("evt_4", 100), vec![slack("invoice/in_2")])
        .await
        .unwrap();
    store
        .ingest(event("evt_5", 100), vec![NewJob::new("slack")])
        .await
        .unwrap();
    let others = |jobs: &[stripe_chat_store::LeasedJob], destination: &str, id: &str| {
        jobs.iter()
            .find(|j| j.destination == destination && j.event.id == id)
            .map(|j| j.others_queued)
    };
    let first = store.lease("w", 8, MINUTE, at(0)).await.unwrap();
    assert_eq!(first.len(), 4, "one job per thread, and the one without");
    assert_eq!(others(&first, "slack", "evt_1"), Some(2));
    assert_eq!(others(&first, "teams", "evt_1"), Some(2));
    assert_eq!(others(&first, "slack", "evt_4"), Some(0));
    assert_eq!(others(&first, "slack", "evt_5"), Some(0), "no thread key");
    let done = first
        .iter()
        .find(|j| j.destination == "slack" && j.event.id == "evt_1");
    store
        .complete(done.unwrap(), Delivered::nothing())
        .await
        .unwrap();
    let second = store.lease("w", 8, MINUTE, at(1)).await.unwrap();
    assert_eq!(others(&second, "slack", "evt_2"), Some(1));
}

fn audit_row(seq: u64) -> AuditRow {
    AuditRow {
        seq,
        prev_hash: format!("{:064x}", seq - 1),
        hash: format!("{seq:064x}"),
        body: format!(r#"{{"action":"retry_payment","detail":"caf\u00e9 \u2014 {seq}"}}"#),
    }
}

async fn audit_records_append_only_in_order_and_read_back_byte_for_byte(store: &dyn Store) {
    assert!(store.audit_last().await.unwrap().is_none());
    assert!(
        store
            .audit_append(audit_row(2))
            .await
            .unwrap_err()
            .is_conflict(),
        "the first record is number 1"
    );
    for seq in 1..=5 {
        store.audit_append(audit_row(seq)).await.unwrap();
    }
    let taken = store.audit_append(audit_row(5)).await.unwrap_err();
    assert!(taken.is_conflict(), "{taken}");
    assert!(!taken.is_transient());
    assert_eq!(store.audit_last().await.unwrap(), Some(audit_row(5)));
    let rows = store.audit_read(2, 3).await.unwrap();
    assert_eq!(rows, vec![audit_row(2), audit_row(3), audit_row(4)]);
    assert_eq!(store.audit_read(6, 10).await.unwrap(), vec![]);
    // Pruning never touches the audit log.
    store
        .prune(
            std::time::SystemTime::now() + Duration::from_secs(3600),
            1000,
        )
        .await
        .unwrap();
    assert_eq!(store.audit_read(1, 10).await.unwrap().len(), 5);
}

async fn audit_checkpoints_are_kept_once_per_size(store: &dyn Store) {
    let note = |size: u64, text: &str| AuditCheckpointRow {
        size,
        note: text.to_owned(),
    };
    store.audit_checkpoint(note(10, "first")).await.unwrap();
    store.audit_checkpoint(note(3, "earlier")).await.unwrap();
    store.audit_checkpoint(note(10, "again")).await.unwrap();
    assert_eq!(
        store.audit_checkpoints().await.unwrap(),
        vec![note(3, "earlier"), note(10, "first")]
    );
}

fn new_pending(expires_in: Duration) -> NewPending {
    NewPending {
        person: "ana".into(),
        identity: "slack T1/U1".into(),
        action: "retry_payment".into(),
        object: "invoice/in_1".into(),
        account: Some("acct_1".into()),
        message: MessageRef::new("slack", "1700000000.000100").in_channel("C1"),
        amount: Some((84_200, "usd".into())),
        livemode: true,
        description: "invoice INV-1".into(),
        stage: "awaiting_confirmation".into(),
        needs_approval: true,
        created_at: t0(),
        expires_at: t0() + expires_in,
    }
}

async fn an_interaction_id_is_new_once(store: &dyn Store) {
    assert!(store.interaction_first_seen("slack:1", t0()).await.unwrap());
    assert!(
        !store
            .interaction_first_seen("slack:1", at(5))
            .await
            .unwrap()
    );
    assert!(
        store
            .interaction_first_seen("slack:2", at(5))
            .await
            .unwrap()
    );
    assert!(matches!(
        store.interaction_first_seen("", t0()).await,
        Err(StoreError::Invalid { .. })
    ));
}

async fn a_pending_request_gets_an_unguessable_id_and_reads_back_as_stored(store: &dyn Store) {
    let first = store
        .pending_create(new_pending(15 * MINUTE))
        .await
        .unwrap();
    let second = store
        .pending_create(new_pending(15 * MINUTE))
        .await
        .unwrap();
    assert_ne!(first.id, second.id);
    for row in [&first, &second] {
        assert!(row.id.starts_with("p_"));
        assert_eq!(row.id.len(), 2 + 32);
        assert!(row.id[2..].bytes().all(|b| b.is_ascii_hexdigit()));
    }
    assert_eq!(store.pending(&first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(first.pending, new_pending(15 * MINUTE));
    assert!(store.pending("p_unknown").await.unwrap().is_none());
    let mut nobody = new_pending(MINUTE);
    nobody.person.clear();
    assert!(matches!(
        store.pending_create(nobody).await,
        Err(StoreError::Invalid { .. })
    ));
}

async fn a_pending_request_moves_only_from_its_stage_and_before_it_expires(store: &dyn Store) {
    let id = store
        .pending_create(new_pending(15 * MINUTE))
        .await
        .unwrap()
        .id;
    // Not from a stage it is not at.
    let wrong = store
        .pending_advance(&id, "awaiting_approval", PendingChange::to("ready"), at(1))
        .await
        .unwrap();
    assert!(wrong.is_none());
    // Confirmed: the approval gets a window of its own.
    let approval_until = at(60) + 15 * MINUTE;
    let confirmed = store
        .pending_advance(
            &id,
            "awaiting_confirmation",
            PendingChange::to("awaiting_approval").expiring(approval_until),
            at(60),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(confirmed.pending.stage, "awaiting_approval");
    assert_eq!(confirmed.pending.expires_at, approval_until);
    assert_eq!(store.pending(&id).await.unwrap(), Some(confirmed));
    // Approved after its expiry: refused, and nothing changes.
    let late = approval_until + Duration::from_secs(1);
    let refused = store
        .pending_advance(
            &id,
            "awaiting_approval",
            PendingChange::to("ready").approved_by("cy"),
            late,
        )
        .await
        .unwrap();
    assert!(refused.is_none());
    let kept = store.pending(&id).await.unwrap().unwrap();
    assert_eq!(
        (kept.pending.stage.as_str(), kept.approved_by),
        ("awaiting_approval", None)
    );
    // In time: approved, with its approver.
    let approved = store
        .pending_advance(
            &id,
            "awaiting_approval",
            PendingChange::to("ready").approved_by("cy"),
            approval_until,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(approved.approved_by.as_deref(), Some("cy"));
    assert!(
        store
            .pending_advance("p_unknown", "ready", PendingChange::to("cancelled"), at(1))
            .await
            .unwrap()
            .is_none()
    );
}

async fn of_concurrent_moves_of_one_pending_request_exactly_one_succeeds(store: &dyn Store) {
    let id = store
        .pending_create(new_pending(15 * MINUTE))
        .await
        .unwrap()
        .id;
    let moves = (0..10).map(|i| {
        let id = id.clone();
        async move {
            store
                .pending_advance(
                    &id,
                    "awaiting_confirmation",
                    PendingChange::to(if i % 2 == 0 { "ready" } else { "cancelled" }),
                    at(1),
                )
                .await
                .unwrap()
        }
    });
    let moved = futures_join_all(moves).await;
    assert_eq!(moved.iter().filter(|m| m.is_some()).count(), 1);
}

/// Runs the futures concurrently on this task.
async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut out = Vec::with_capacity(set.len());
    // Poll them all together: each gets its turn while the others wait on the store.
    let results = std::sync::Mutex::new(Vec::new());
    let all = set.into_iter().enumerate().map(|(i, f)| {
        let results = &results;
        async move {
            let value = f.await;
            results.lock().unwrap().push((i, value));
        }
    });
    join_all_local(all.collect()).await;
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _)| *i);
    out.extend(results.into_iter().map(|(_, v)| v));
    out
}

async fn join_all_local<F: std::future::Future<Output = ()>>(futures: Vec<F>) {
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for slot in &mut futures {
            if let Some(f) = slot {
                if f.as_mut().poll(cx).is_ready() {
                    *slot = None;
                } else {
                    pending = true;
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
}

async fn the_ledger_gives_a_key_to_one_claimer_and_replays_its_outcome(store: &dyn Store) {
    let key = "sc-retry_payment-0123";
    assert_eq!(
        store.ledger_claim(key, t0(), MINUTE).await.unwrap(),
        Claim::Claimed { attempt: 1 }
    );
    assert_eq!(
        store.ledger_claim(key, at(5), MINUTE).await.unwrap(),
        Claim::InFlight { since: t0() }
    );
    let mut declined = LedgerOutcome::new(LedgerStatus::Refused, "declined: insufficient funds");
    declined.reference = Some("req_1".into());
    assert!(
        store
            .ledger_record(key, 1, declined.clone(), at(6))
            .await
            .unwrap()
    );
    // Recorded once: a second outcome for the same claim is refused.
    let other = LedgerOutcome::new(LedgerStatus::Performed, "succeeded");
    assert!(!store.ledger_record(key, 1, other, at(7)).await.unwrap());
    for later in [at(8), at(8) + 60 * MINUTE] {
        assert_eq!(
            store.ledger_claim(key, later, MINUTE).await.unwrap(),
            Claim::AlreadyDone(declined.clone())
        );
    }
    assert!(matches!(
        store.ledger_claim("", t0(), MINUTE).await,
        Err(StoreError::Invalid { .. })
    ));
}

async fn a_timed_out_action_is_claimed_again_under_the_same_key(store: &dyn Store) {
    let key = "sc-submit_evidence-42";
    assert_eq!(
        store.ledger_claim(key, t0(), MINUTE).await.unwrap(),
        Claim::Claimed { attempt: 1 }
    );
    let timeout = LedgerOutcome::new(LedgerStatus::Unknown, "Stripe did not answer in time");
    assert!(store.ledger_record(key, 1, timeout, at(1)).await.unwrap());
    assert_eq!(
        store.ledger_claim(key, at(2), MINUTE).await.unwrap(),
        Claim::Claimed { attempt: 2 }
    );
    // The first claim can no longer record anything.
    let late = LedgerOutcome::new(LedgerStatus::Performed, "succeeded");
    assert!(
        !store
            .ledger_record(key, 1, late.clone(), at(3))
            .await
            .unwrap()
    );
    assert!(
        store
            .ledger_record(key, 2, late.clone(), at(3))
            .await
            .unwrap()
    );
    assert_eq!(
        store.ledger_claim(key, at(4), MINUTE).await.unwrap(),
        Claim::AlreadyDone(late)
    );
}

async fn a_claim_without_an_outcome_goes_stale_and_is_claimed_again(store: &dyn Store) {
    let key = "sc-retry_payment-dead";
    assert_eq!(
        store.ledger_claim(key, t0(), MINUTE).await.unwrap(),
        Claim::Claimed { attempt: 1 }
    );
    assert_eq!(
        store.ledger_claim(key, at(60), MINUTE).await.unwrap(),
        Claim::InFlight { since: t0() }
    );
    assert_eq!(
        store.ledger_claim(key, at(61), MINUTE).await.unwrap(),
        Claim::Claimed { attempt: 2 }
    );
}

async fn of_concurrent_claims_of_one_key_exactly_one_wins(store: &dyn Store) {
    let claims = (0..20).map(|_| async { store.ledger_claim("k", t0(), MINUTE).await.unwrap() });
    let claims = futures_join_all(claims).await;
    let won = claims
        .iter()
        .filter(|c| matches!(c, Claim::Claimed { .. }))
        .count();
    assert_eq!(won, 1);
    assert!(
        claims
            .iter()
            .all(|c| matches!(c, Claim::Claimed { attempt: 1 } | Claim::InFlight { .. }))
    );
}

async fn the_latest_contact_and_the_last_assignment_are_kept(store: &dyn Store) {
    assert!(store.last_contact("cus_1").await.unwrap().is_none());
    store.contact_record("cus_1", "ana", at(100)).await.unwrap();
    store.contact_record("cus_1", "bo", at(50)).await.unwrap();
    let last = store.last_contact("cus_1").await.unwrap().unwrap();
    assert_eq!((last.person.as_str(), last.at), ("ana", at(100)));
    store.contact_record("cus_1", "cy", at(200)).await.unwrap();
    assert_eq!(
        store.last_contact("cus_1").await.unwrap().unwrap().person,
        "cy"
    );
    assert!(store.last_contact("cus_2").await.unwrap().is_none());

    store
        .assignment_set("dispute/dp_1", "bo", "ana", at(1))
        .await
        .unwrap();
    store
        .assignment_set("dispute/dp_1", "cy", "bo", at(2))
        .await
        .unwrap();
    let assigned = store.assignment("dispute/dp_1").await.unwrap().unwrap();
    assert_eq!(
        (
            assigned.assignee.as_str(),
            assigned.by.as_str(),
            assigned.at
        ),
        ("cy", "bo", at(2))
    );
    assert!(matches!(
        store.assignment_set("", "bo", "ana", at(1)).await,
        Err(StoreError::Invalid { .. })
    ));
}

async fn prune_forgets_old_interactions_expired_requests_and_finished_actions_only(
    store: &dyn Store,
) {
    store.interaction_first_seen("old", t0()).await.unwrap();
    store.interaction_first_seen("new", at(7200)).await.unwrap();
    let expired = store.pending_create(new_pending(MINUTE)).await.unwrap().id;
    let open = store
        .pending_create(new_pending(10 * 60 * MINUTE))
        .await
        .unwrap()
        .id;
    store.ledger_claim("done", t0(), MINUTE).await.unwrap();
    let outcome = LedgerOutcome::new(LedgerStatus::Performed, "succeeded");
    store
        .ledger_record("done", 1, outcome, at(1))
        .await
        .unwrap();
    store.ledger_claim("in-flight", t0(), MINUTE).await.unwrap();
    store.contact_record("cus_1", "ana", t0()).await.unwrap();
    store
        .assignment_set("invoice/in_1", "bo", "ana", t0())
        .await
        .unwrap();

    let before = at(3600);
    let would = store.prunable(before).await.unwrap();
    assert_eq!(
        would.actions, 3,
        "the old id, the expired request, the finished action"
    );
    let mut pruned = Pruned::default();
    loop {
        let batch = store.prune(before, 1).await.unwrap();
        if batch.is_empty() {
            break;
        }
        pruned.actions += batch.actions;
    }
    assert_eq!(pruned.actions, would.actions);

    assert!(store.interaction_first_seen("old", at(7300)).await.unwrap());
    assert!(!store.interaction_first_seen("new", at(7300)).await.unwrap());
    assert!(store.pending(&expired).await.unwrap().is_none());
    assert!(store.pending(&open).await.unwrap().is_some());
    assert!(matches!(
        store
            .ledger_claim("in-flight", at(7300), 1000 * MINUTE)
            .await
            .unwrap(),
        Claim::InFlight { .. }
    ));
    assert_eq!(
        store.ledger_claim("done", at(7300), MINUTE).await.unwrap(),
        Claim::Claimed { attempt: 1 },
        "forgotten after the retention"
    );
    assert!(store.last_contact("cus_1").await.unwrap().is_some());
    assert!(store.assignment("invoice/in_1").await.unwrap().is_some());
}
