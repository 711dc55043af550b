//! Every single-record edit, deletion, insertion and swap, and a tail cut behind a checkpoint,
//! is found by `verify`, at the right record; an untouched log verifies.

#![allow(clippy::unwrap_used)] // test code

use proptest::prelude::*;
use stripe_chat_audit::{
    Actor, Chain, Checkpoint, Decision, Entry, Problem, Record, SignedCheckpoint, SignerKey,
    VerifierKey, verify,
};

const DECISIONS: [Decision; 4] = [
    Decision::Requested,
    Decision::Confirmed,
    Decision::Performed,
    Decision::Denied,
];

/// A log of `n` records with a checkpoint every `every` records and one at the end.
fn log(n: usize, every: usize, key: &SignerKey) -> (Vec<Record>, Vec<SignedCheckpoint>) {
    let mut chain = Chain::new();
    let mut records = Vec::new();
    let mut checkpoints = Vec::new();
    for i in 0..n {
        let entry = Entry::new(
            Actor::chat("slack", format!("T1/U{}", i % 3)).person(["ana", "bo", "cy"][i % 3]),
            ["retry_payment", "mark_contacted", "assign"][i % 3],
            DECISIONS[i % 4],
        )
        .at_ms(1_700_000_000_000 + i as i64)
        .object(format!("invoice/in_{}", i % 5))
        .amount(1000 + i as i64, "usd");
        let record = chain.seal(&entry).unwrap();
        chain.advance(&record);
        records.push(record);
        if (i + 1) % every == 0 || i + 1 == n {
            checkpoints.push(
                Checkpoint {
                    origin: "acme".into(),
                    size: chain.size(),
                    head: chain.head(),
                }
                .sign(key),
            );
        }
    }
    (records, checkpoints)
}

fn key() -> (SignerKey, VerifierKey) {
    let key = SignerKey::generate("acme-audit").unwrap();
    let verifier = key.verifier();
    (key, verifier)
}

fn first_bad(records: Vec<Record>, checkpoints: &[SignedCheckpoint], key: &VerifierKey) -> u64 {
    verify(records, checkpoints, Some(key))
        .problem
        .map_or(0, |p| p.first_bad_record())
}

#[test]
fn an_untouched_log_verifies_with_every_checkpoint() {
    let (signer, verifier) = key();
    let (records, checkpoints) = log(25, 10, &signer);
    let report = verify(records, &checkpoints, Some(&verifier));
    assert_eq!(report.problem, None);
    assert_eq!((report.records, report.checkpoints), (25, 3));
    assert_eq!(report.anchored_at, Some(25));
}

#[test]
fn an_edit_that_keeps_the_stored_hash_is_found_at_that_record() {
    let (signer, verifier) = key();
    let (mut records, checkpoints) = log(12, 5, &signer);
    records[6].body = records[6].body.replace("\"minor\":1006", "\"minor\":9006");
    let report = verify(records, &checkpoints, Some(&verifier));
    assert_eq!(report.problem, Some(Problem::Changed { seq: 7 }));
}

#[test]
fn a_rewrite_of_the_whole_log_is_found_by_the_checkpoint() {
    let (signer, verifier) = key();
    let (records, checkpoints) = log(12, 5, &signer);
    // Rebuild a consistent chain with record 3 changed: every hash recomputed.
    let mut chain = Chain::new();
    let mut forged = Vec::new();
    for (i, record) in records.iter().enumerate() {
        let mut entry = record.entry().unwrap();
        if i == 2 {
            entry.decision = Decision::Denied;
        }
        let sealed = chain.seal(&entry).unwrap();
        chain.advance(&sealed);
        forged.push(sealed);
    }
    assert_eq!(
        verify(forged.clone(), &[], Some(&verifier)).problem,
        None,
        "the chain alone cannot tell"
    );
    let report = verify(forged, &checkpoints, Some(&verifier));
    assert_eq!(report.problem, Some(Problem::Rewritten { size: 5 }));
}

#[test]
fn a_tail_cut_behind_a_checkpoint_is_found() {
    let (signer, verifier) = key();
    let (mut records, checkpoints) = log(10, 4, &signer);
    records.truncate(9);
    let report = verify(records, &checkpoints, Some(&verifier));
    assert_eq!(
        report.problem,
        Some(Problem::Truncated {
            records: 9,
            checkpoint: 10
        })
    );
}

#[test]
fn a_forged_checkpoint_is_refused() {
    let (signer, verifier) = key();
    let (records, mut checkpoints) = log(6, 3, &signer);
    let forged = checkpoints[0].text().replacen("\n3\n", "\n2\n", 1);
    checkpoints[0] = SignedCheckpoint::parse(&forged).unwrap();
    let report = verify(records, &checkpoints, Some(&verifier));
    assert_eq!(report.problem, Some(Problem::BadCheckpoint { size: 2 }));
    let (other, _) = key();
    let (records, checkpoints) = log(6, 3, &other);
    assert!(matches!(
        verify(records, &checkpoints, Some(&verifier)).problem,
        Some(Problem::BadCheckpoint { .. })
    ));
}

#[derive(Debug, Clone)]
enum Tamper {
    Edit(usize),
    Delete(usize),
    Insert(usize),
    Swap(usize),
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_single_record_tampering_is_found_no_later_than_the_first_record_that_cannot_be_right(
        n in 2usize..30,
        pick in any::<prop::sample::Index>(),
        kind in 0u8..4,
    ) {
        let (signer, verifier) = key();
        let (records, checkpoints) = log(n, 7, &signer);
        let at = pick.index(n);
        let tamper = match kind {
            0 => Tamper::Edit(at),
            1 => Tamper::Delete(at),
            2 => Tamper::Insert(at),
            _ => Tamper::Swap(at.min(n - 2)),
        };
        let mut forged = records.clone();
        let touched = match tamper {
            Tamper::Edit(i) => {
                forged[i].body = forged[i].body.replace("slack", "discord");
                i as u64 + 1
            }
            Tamper::Delete(i) => {
                forged.remove(i);
                i as u64 + 1
            }
            Tamper::Insert(i) => {
                // A well-formed record, sealed after its would-be predecessor: it looks right
                // by itself, so the record it displaced is the first that cannot be.
                let previous = i.checked_sub(1).map(|p| &records[p]);
                let extra = Chain::after(previous)
                    .seal(&Entry::new(Actor::operator("mallory"), "replay", Decision::Performed))
                    .unwrap();
                forged.insert(i, extra);
                i as u64 + 2
            }
            Tamper::Swap(i) => {
                forged.swap(i, i + 1);
                i as u64 + 1
            }
        };
        let found = first_bad(forged, &checkpoints, &verifier);
        prop_assert!(found >= 1 && found <= touched, "{tamper:?}: found {found}, touched {touched}");
    }
}
