//! A software passkey authenticator: real attestations ("none" format, as
//! platform passkeys send) and real ES256 assertions, built byte by byte
//! from WebAuthn Level 3 §6.1 and §6.5, with every knob an attacker or a
//! broken device turns: the origin it reports, the RP id it hashes, user
//! verification, its signature counter, its backup flags.

use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{DerSignature, SigningKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const UP: u8 = 0x01;
const UV: u8 = 0x04;
const BE: u8 = 0x08;
const BS: u8 = 0x10;
const AT: u8 = 0x40;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .expect("base64url")
}

/// CBOR (RFC 8949) for the few shapes WebAuthn needs.
mod cbor {
    pub fn head(major: u8, n: u64, out: &mut Vec<u8>) {
        let m = major << 5;
        match n {
            0..=23 => out.push(m | n as u8),
            24..=0xff => out.extend([m | 24, n as u8]),
            0x100..=0xffff => {
                out.push(m | 25);
                out.extend((n as u16).to_be_bytes());
            }
            _ => {
                out.push(m | 26);
                out.extend((n as u32).to_be_bytes());
            }
        }
    }
    pub fn int(v: i64, out: &mut Vec<u8>) {
        if v >= 0 {
            head(0, v as u64, out)
        } else {
            head(1, (-1 - v) as u64, out)
        }
    }
    pub fn bytes(b: &[u8], out: &mut Vec<u8>) {
        head(2, b.len() as u64, out);
        out.extend(b);
    }
    pub fn text(t: &str, out: &mut Vec<u8>) {
        head(3, t.len() as u64, out);
        out.extend(t.as_bytes());
    }
}

pub struct SoftPasskey {
    key: SigningKey,
    pub credential_id: Vec<u8>,
    /// The origin the "browser" puts in clientDataJSON.
    pub origin: String,
    /// When set, the RP id hashed into authenticator data instead of the one asked for.
    pub rp_id_override: Option<String>,
    /// Whether the user was verified (biometric or PIN).
    pub user_verified: bool,
    /// The signature counter; each assertion adds one first, unless it is 0
    /// and `counting` is off (synced passkeys keep no counter).
    pub counter: u32,
    pub counting: bool,
    pub backed_up: bool,
    /// The user handle the RP gave at registration.
    pub user_handle: Vec<u8>,
}

impl SoftPasskey {
    pub fn new(origin: &str) -> Self {
        Self {
            key: SigningKey::random(&mut p256::elliptic_curve::rand_core::OsRng),
            credential_id: uuid::Uuid::new_v4().as_bytes().repeat(2),
            origin: origin.to_owned(),
            rp_id_override: None,
            user_verified: true,
            counter: 0,
            counting: true,
            backed_up: true,
            user_handle: Vec::new(),
        }
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        json!({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false})
            .to_string()
            .into_bytes()
    }

    fn flags(&self) -> u8 {
        let mut f = UP | BE;
        if self.user_verified {
            f |= UV;
        }
        if self.backed_up {
            f |= BS;
        }
        f
    }

    fn rp_hash(&self, asked: &str) -> Vec<u8> {
        Sha256::digest(self.rp_id_override.as_deref().unwrap_or(asked)).to_vec()
    }

    /// `navigator.credentials.create()` for a start response's `options`.
    pub fn register(&mut self, options: &Value) -> Value {
        let pk = &options["publicKey"];
        let rp_id = pk["rp"]["id"].as_str().expect("rp.id");
        self.user_handle = unb64(pk["user"]["id"].as_str().expect("user.id"));
        let client_data = self.client_data("webauthn.create", pk["challenge"].as_str().unwrap());
        let point = self.key.verifying_key().to_encoded_point(false);
        let mut cose = Vec::new();
        cbor::head(5, 5, &mut cose);
        for (k, v) in [(1, 2), (3, -7), (-1, 1)] {
            cbor::int(k, &mut cose);
            cbor::int(v, &mut cose);
        }
        cbor::int(-2, &mut cose);
        cbor::bytes(point.x().unwrap(), &mut cose);
        cbor::int(-3, &mut cose);
        cbor::bytes(point.y().unwrap(), &mut cose);

        let mut auth_data = self.rp_hash(rp_id);
        auth_data.push(self.flags() | AT);
        auth_data.extend(0u32.to_be_bytes());
        auth_data.extend([0u8; 16]);
        auth_data.extend((self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend(&self.credential_id);
        auth_data.extend(cose);

        let mut attestation = Vec::new();
        cbor::head(5, 3, &mut attestation);
        cbor::text("fmt", &mut attestation);
        cbor::text("none", &mut attestation);
        cbor::text("attStmt", &mut attestation);
        cbor::head(5, 0, &mut attestation);
        cbor::text("authData", &mut attestation);
        cbor::bytes(&auth_data, &mut attestation);
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "attestationObject": b64(&attestation),
                "clientDataJSON": b64(&client_data),
            },
            "extensions": {},
        })
    }

    /// `navigator.credentials.get()` for a start response's `options`.
    pub fn assert(&mut self, options: &Value) -> Value {
        let pk = &options["publicKey"];
        let rp_id = pk["rpId"].as_str().expect("rpId");
        let client_data = self.client_data("webauthn.get", pk["challenge"].as_str().unwrap());
        if self.counting {
            self.counter += 1;
        }
        let mut auth_data = self.rp_hash(rp_id);
        auth_data.push(self.flags());
        auth_data.extend(self.counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend(Sha256::digest(&client_data));
        let signature: DerSignature = self.key.sign(&signed);
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(&client_data),
                "signature": b64(signature.as_bytes()),
                "userHandle": b64(&self.user_handle),
            },
            "extensions": {},
        })
    }
}
