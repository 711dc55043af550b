//! Signed checkpoints: every so often the log's size and head hash are signed with an Ed25519 key
//! kept outside the store. A checkpoint is a signed note in the format of Go's
//! `golang.org/x/mod/sumdb/note` and C2SP `tlog-checkpoint`, so standard tools can read it:
//!
//! ```text
//! stripe-chat audit acme-prod
//! 1042
//! 3q2+7w8Qm0Y1mJmQm6V8m6cQq2sHq3kX2Wl2b8m3v9A=
//!
//! — acme-prod-audit Ab3xVkq…
//! ```
//!
//! Keys use that format's text forms: the signer key `PRIVATE+KEY+<name>+<id>+<base64>` (keep it
//! out of the store, readable only by the service) and the verifier key `<name>+<id>+<base64>`
//! (publish it: `stripe-chat audit verify` needs only that).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::{AuditError, Hash};

/// The algorithm byte of Ed25519 in the note format.
const ALG_ED25519: u8 = 1;
/// The first line of every checkpoint starts with this, then the log's name.
const ORIGIN_PREFIX: &str = "stripe-chat audit ";

fn check_name(name: &str) -> Result<(), AuditError> {
    if name.is_empty()
        || name.contains('+')
        || name.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(AuditError::Malformed {
            what: "key name",
            reason: "use letters, digits and punctuation other than '+', without spaces".into(),
        });
    }
    Ok(())
}

/// The 4-byte key id of the note format: SHA-256(name, newline, algorithm, public key).
fn key_id(name: &str, public: &VerifyingKey) -> [u8; 4] {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update(b"\n");
    hasher.update([ALG_ED25519]);
    hasher.update(public.as_bytes());
    let digest = hasher.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// The key that signs checkpoints. Its `Debug` never shows the key.
///
/// ```
/// use stripe_chat_audit::SignerKey;
/// let key = SignerKey::generate("acme-audit")?;
/// let text = key.to_text();
/// assert!(text.starts_with("PRIVATE+KEY+acme-audit+"));
/// let again = SignerKey::parse(&text)?;
/// assert_eq!(again.verifier(), key.verifier());
/// assert!(!format!("{key:?}").contains(&text[30..]));
/// # Ok::<(), stripe_chat_audit::AuditError>(())
/// ```
#[derive(Clone)]
pub struct SignerKey {
    name: String,
    key: SigningKey,
}

impl fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignerKey")
            .field("name", &self.name)
            .field("key", &"**REDACTED**")
            .finish()
    }
}

impl SignerKey {
    /// A new random key called `name`, from the operating system's randomness.
    ///
    /// ```
    /// let key = stripe_chat_audit::SignerKey::generate("ops")?;
    /// assert_eq!(key.name(), "ops");
    /// # Ok::<(), stripe_chat_audit::AuditError>(())
    /// ```
    pub fn generate(name: &str) -> Result<Self, AuditError> {
        check_name(name)?;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| AuditError::Key {
            reason: format!("no randomness from the operating system: {e}"),
        })?;
        Ok(SignerKey {
            name: name.to_owned(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// Reads the text form `PRIVATE+KEY+<name>+<id>+<base64>` (surrounding whitespace ignored).
    ///
    /// ```
    /// assert!(stripe_chat_audit::SignerKey::parse("PRIVATE+KEY+x+00000000+AAAA").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, AuditError> {
        let bad = |reason: &str| AuditError::Key {
            reason: reason.to_owned(),
        };
        let rest = text
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| bad("a signer key starts with PRIVATE+KEY+"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("a signer key is PRIVATE+KEY+<name>+<id>+<key>"));
        };
        check_name(name)?;
        let bytes = BASE64
            .decode(data)
            .map_err(|_| bad("the key is not base64"))?;
        let Some((&ALG_ED25519, seed)) = bytes.split_first() else {
            return Err(bad("the key is not an Ed25519 key"));
        };
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| bad("an Ed25519 key has 32 bytes"))?;
        let key = SignerKey {
            name: name.to_owned(),
            key: SigningKey::from_bytes(&seed),
        };
        if hex::encode(key_id(name, &key.key.verifying_key())) != id.to_ascii_lowercase() {
            return Err(bad("the key id does not match the key"));
        }
        Ok(key)
    }

    /// The text form, to keep in a file only the service can read.
    ///
    /// ```
    /// let key = stripe_chat_audit::SignerKey::generate("ops")?;
    /// assert!(key.to_text().starts_with("PRIVATE+KEY+ops+"));
    /// # Ok::<(), stripe_chat_audit::AuditError>(())
    /// ```
    pub fn to_text(&self) -> String {
        let mut data = vec![ALG_ED25519];
        data.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name,
            hex::encode(key_id(&self.name, &self.key.verifying_key())),
            BASE64.encode(data)
        )
    }

    /// The key's name.
    ///
    /// ```
    /// assert_eq!(stripe_chat_audit::SignerKey::generate("a")?.name(), "a");
    /// # Ok::<(), stripe_chat_audit::AuditError>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The matching verifier key, to publish.
    ///
    /// ```
    /// let key = stripe_chat_audit::SignerKey::generate("a")?;
    /// assert!(key.verifier().to_string().starts_with("a+"));
    /// # Ok::<(), stripe_chat_audit::AuditError>(())
    /// ```
    pub fn verifier(&self) -> VerifierKey {
        let public = self.key.verifying_key();
        VerifierKey {
            name: self.name.clone(),
            id: key_id(&self.name, &public),
            key: public,
        }
    }

    fn sign(&self, text: &str) -> Signature {
        self.key.sign(text.as_bytes())
    }
}

/// The public half of a [`SignerKey`]: checks checkpoints. Text form `<name>+<id>+<base64>`.
///
/// ```
/// use stripe_chat_audit::{SignerKey, VerifierKey};
/// let verifier = SignerKey::generate("acme")?.verifier();
/// let text = verifier.to_string();
/// assert_eq!(text.parse::<VerifierKey>()?, verifier);
/// # Ok::<(), stripe_chat_audit::AuditError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    id: [u8; 4],
    key: VerifyingKey,
}

impl VerifierKey {
    /// The key's name.
    ///
    /// ```
    /// assert_eq!(stripe_chat_audit::SignerKey::generate("n")?.verifier().name(), "n");
    /// # Ok::<(), stripe_chat_audit::AuditError>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut data = vec![ALG_ED25519];
        data.extend_from_slice(self.key.as_bytes());
        write!(
            f,
            "{}+{}+{}",
            self.name,
            hex::encode(self.id),
            BASE64.encode(data)
        )
    }
}

impl std::str::FromStr for VerifierKey {
    type Err = AuditError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| AuditError::Key {
            reason: reason.to_owned(),
        };
        let mut parts = text.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("a verifier key is <name>+<id>+<key>"));
        };
        check_name(name)?;
        let bytes = BASE64
            .decode(data)
            .map_err(|_| bad("the key is not base64"))?;
        let Some((&ALG_ED25519, public)) = bytes.split_first() else {
            return Err(bad("the key is not an Ed25519 key"));
        };
        let public: [u8; 32] = public
            .try_into()
            .map_err(|_| bad("an Ed25519 key has 32 bytes"))?;
        let key =
            VerifyingKey::from_bytes(&public).map_err(|_| bad("not a valid Ed25519 public key"))?;
        let expected = key_id(name, &key);
        if hex::encode(expected) != id.to_ascii_lowercase() {
            return Err(bad("the key id does not match the key"));
        }
        Ok(VerifierKey {
            name: name.to_owned(),
            id: expected,
            key,
        })
    }
}

/// What a checkpoint states: the log called `origin` had `size` records, the last with hash
/// `head`.
///
/// ```
/// use stripe_chat_audit::{Checkpoint, Hash, SignerKey};
/// let key = SignerKey::generate("ops")?;
/// let note = Checkpoint { origin: "acme".into(), size: 0, head: Hash::GENESIS }.sign(&key);
/// let back = stripe_chat_audit::SignedCheckpoint::parse(note.text())?;
/// assert_eq!(back.verify(&key.verifier())?.size, 0);
/// # Ok::<(), stripe_chat_audit::AuditError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's name (`[audit] name`): one per deployment.
    pub origin: String,
    /// How many records the log had.
    pub size: u64,
    /// The hash of record `size` ([`Hash::GENESIS`] for an empty log).
    pub head: Hash,
}

impl Checkpoint {
    /// The signed text: origin, size and head, one per line.
    fn body(&self) -> String {
        format!(
            "{ORIGIN_PREFIX}{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.head.0)
        )
    }

    /// Signs it with `key`.
    ///
    /// ```
    /// use stripe_chat_audit::{Checkpoint, Hash, SignerKey};
    /// let key = SignerKey::generate("ops")?;
    /// let note = Checkpoint { origin: "acme".into(), size: 3, head: Hash::GENESIS }.sign(&key);
    /// assert!(note.text().starts_with("stripe-chat audit acme\n3\n"));
    /// assert!(note.text().contains("\n\n\u{2014} ops "));
    /// # Ok::<(), stripe_chat_audit::AuditError>(())
    /// ```
    pub fn sign(&self, key: &SignerKey) -> SignedCheckpoint {
        let body = self.body();
        let signature = key.sign(&body);
        let mut data = key.verifier().id.to_vec();
        data.extend_from_slice(&signature.to_bytes());
        let text = format!("{body}\n\u{2014} {} {}\n", key.name, BASE64.encode(data));
        SignedCheckpoint {
            checkpoint: self.clone(),
            text,
        }
    }
}

/// A checkpoint with its signature, as stored and posted: [`text`](SignedCheckpoint::text) is
/// the whole note.
///
/// ```
/// use stripe_chat_audit::{Checkpoint, Hash, SignedCheckpoint, SignerKey};
/// let key = SignerKey::generate("ops")?;
/// let note = Checkpoint { origin: "acme".into(), size: 3, head: Hash::GENESIS }.sign(&key);
/// let forged = note.text().replace("\n3\n", "\n2\n");
/// let parsed = SignedCheckpoint::parse(&forged)?;
/// assert!(parsed.verify(&key.verifier()).is_err());
/// # Ok::<(), stripe_chat_audit::AuditError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    checkpoint: Checkpoint,
    text: String,
}

impl SignedCheckpoint {
    /// The note's text.
    ///
    /// ```
    /// # use stripe_chat_audit::{Checkpoint, Hash, SignerKey};
    /// # let key = SignerKey::generate("ops")?;
    /// let note = Checkpoint { origin: "acme".into(), size: 0, head: Hash::GENESIS }.sign(&key);
    /// assert!(note.text().ends_with('\n'));
    /// # Ok::<(), stripe_chat_audit::AuditError>(())
    /// ```
    pub fn text(&self) -> &str {
        &self.text
    }

    /// What it states, before its signature is checked.
    ///
    /// ```
    /// # use stripe_chat_audit::{Checkpoint, Hash, SignerKey};
    /// # let key = SignerKey::generate("ops")?;
    /// let note = Checkpoint { origin: "acme".into(), size: 7, head: Hash::GENESIS }.sign(&key);
    /// assert_eq!(note.unverified().size, 7);
    /// # Ok::<(), stripe_chat_audit::AuditError>(())
    /// ```
    pub fn unverified(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// Reads a note.
    ///
    /// ```
    /// assert!(stripe_chat_audit::SignedCheckpoint::parse("hello\n").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, AuditError> {
        let bad = |reason: &str| AuditError::Malformed {
            what: "checkpoint",
            reason: reason.to_owned(),
        };
        let (body, _signatures) = text
            .split_once("\n\n")
            .ok_or_else(|| bad("no signature after the text"))?;
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .and_then(|l| l.strip_prefix(ORIGIN_PREFIX))
            .ok_or_else(|| bad("the first line is not \"stripe-chat audit <name>\""))?;
        let size: u64 = lines
            .next()
            .and_then(|l| l.parse().ok())
            .ok_or_else(|| bad("the second line is not a size"))?;
        let head = lines
            .next()
            .and_then(|l| BASE64.decode(l).ok())
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| bad("the third line is not a base64 SHA-256 hash"))?;
        if lines.next().is_some() {
            return Err(bad("unexpected lines in the text"));
        }
        Ok(SignedCheckpoint {
            checkpoint: Checkpoint {
                origin: origin.to_owned(),
                size,
                head: Hash(head),
            },
            text: text.to_owned(),
        })
    }

    /// Checks that `key` signed exactly this text, and returns what it states.
    ///
    /// ```
    /// use stripe_chat_audit::{Checkpoint, Hash, SignerKey};
    /// let (key, other) = (SignerKey::generate("ops")?, SignerKey::generate("ops")?);
    /// let note = Checkpoint { origin: "acme".into(), size: 1, head: Hash::GENESIS }.sign(&key);
    /// assert!(note.verify(&key.verifier()).is_ok());
    /// assert!(note.verify(&other.verifier()).is_err());
    /// # Ok::<(), stripe_chat_audit::AuditError>(())
    /// ```
    pub fn verify(&self, key: &VerifierKey) -> Result<&Checkpoint, AuditError> {
        let unsigned = || AuditError::BadSignature {
            size: self.checkpoint.size,
        };
        let (body, signatures) = self.text.split_once("\n\n").ok_or_else(unsigned)?;
        let body = format!("{body}\n");
        if body != self.checkpoint.body() {
            return Err(unsigned());
        }
        let prefix = format!("\u{2014} {} ", key.name);
        for line in signatures.lines() {
            let Some(data) = line.strip_prefix(&prefix) else {
                continue;
            };
            let Ok(data) = BASE64.decode(data) else {
                continue;
            };
            if data.len() != 68 || data[..4] != key.id {
                continue;
            }
            let Ok(signature) = Signature::from_slice(&data[4..]) else {
                continue;
            };
            if key.key.verify_strict(body.as_bytes(), &signature).is_ok() {
                return Ok(&self.checkpoint);
            }
        }
        Err(unsigned())
    }
}
