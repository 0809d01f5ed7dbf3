//! Kick's webhook public key: PEM → DER → RSA modulus and exponent, read by a small
//! bounds-checked DER reader (no ASN.1 crate: the shape is fixed and short), and the signature
//! check with *ring* (RSASSA-PKCS1-v1_5 with SHA-256, 2048–8192-bit keys).
//!
//! Kick publishes the key as a `PUBLIC KEY` PEM (X.509 SubjectPublicKeyInfo, RFC 5280 §4.1):
//! in KickDevDocs `events/webhook-security.md` ("Kick Public Key") and from
//! `GET https://api.kick.com/public/v1/public-key` (`{"data":{"public_key":"<PEM>"},
//! "message":"OK"}`; KickDevDocs `apis/public-key.md`, api.kick.com/swagger/v1/doc.json). An
//! `RSA PUBLIC KEY` PEM (PKCS#1 RSAPublicKey, RFC 8017 §A.1.1) is read too.

use base64::Engine as _;
use std::time::Duration;

/// The URL of Kick's public key.
pub const PUBLIC_KEY_URL: &str = "https://api.kick.com/public/v1/public-key";
/// The key as KickDevDocs publishes it (`events/webhook-security.md`), for a start without the
/// network; [`fetch_public_key`] gets the current one.
pub const KICK_PUBLIC_KEY_PEM: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAq/+l1WnlRrGSolDMA+A8
6rAhMbQGmQ2SapVcGM3zq8ANXjnhDWocMqfWcTd95btDydITa10kDvHzw9WQOqp2
MZI7ZyrfzJuz5nhTPCiJwTwnEtWft7nV14BYRDHvlfqPUaZ+1KR4OCaO/wWIk/rQ
L/TjY0M70gse8rlBkbo2a8rKhu69RQTRsoaf4DVhDPEeSeI5jVrRDGAMGL3cGuyY
6CLKGdjVEM78g3JfYOvDU/RvfqD7L89TZ3iN94jrmWdGz34JNlEI5hqK8dd7C5EF
BEbZ5jgB8s8ReQV8H+MkuffjdAj3ajDDX3DOJMIut1lBrUVD1AaSrGCKHooWoL2e
twIDAQAB
-----END PUBLIC KEY-----
";
/// Longest PEM text read (a 8192-bit key's PEM is about 1.5 kB).
pub const MAX_PEM_BYTES: usize = 16 * 1024;
/// The whole public-key request, connect to last byte.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest public-key answer read.
pub const MAX_FETCH_BYTES: usize = 64 * 1024;
/// Smallest and largest modulus accepted, in bits (*ring*'s `RSA_PKCS1_2048_8192_SHA256`).
const MIN_BITS: usize = 2048;
const MAX_BITS: usize = 8192;
/// `rsaEncryption` (1.2.840.113549.1.1.1, RFC 8017 §A.1), as its DER contents.
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// An RSA public key that verifies Kick's signatures.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// Big-endian, no leading zeros (as *ring* wants them).
    n: Vec<u8>,
    e: Vec<u8>,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey(RSA {} bits)", self.bits())
    }
}

/// Why a key was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the key is larger than {MAX_PEM_BYTES} bytes")]
    TooLarge,
    #[error("no `-----BEGIN PUBLIC KEY-----` … `-----END PUBLIC KEY-----` block")]
    NotPem,
    #[error("the PEM block is not base64")]
    Base64,
    #[error("the key is not DER as expected: {0}")]
    Der(&'static str),
    #[error("not an RSA key")]
    NotRsa,
    #[error("an RSA key of {0} bits (2048 to 8192 are accepted)")]
    Size(usize),
    #[error("fetching the key failed: {0}")]
    Fetch(String),
}

impl PublicKey {
    /// Read a `PUBLIC KEY` (SubjectPublicKeyInfo) or `RSA PUBLIC KEY` (PKCS#1) PEM.
    pub fn from_pem(pem: &str) -> Result<PublicKey, KeyError> {
        if pem.len() > MAX_PEM_BYTES {
            return Err(KeyError::TooLarge);
        }
        if let Some(der) = pem_block(pem, "PUBLIC KEY")? {
            return PublicKey::from_spki_der(&der);
        }
        if let Some(der) = pem_block(pem, "RSA PUBLIC KEY")? {
            return PublicKey::from_pkcs1_der(&der);
        }
        Err(KeyError::NotPem)
    }

    /// SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT
    /// STRING } with AlgorithmIdentifier ::= SEQUENCE { rsaEncryption, NULL } (RFC 5280 §4.1,
    /// RFC 8017 §A.1: the parameters "shall" be NULL; an absent one is accepted).
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        let mut outer = Der::new(der);
        let mut spki = Der::new(outer.expect(SEQUENCE)?);
        outer.finish()?;
        let mut algorithm = Der::new(spki.expect(SEQUENCE)?);
        if algorithm.expect(OID)? != RSA_ENCRYPTION {
            return Err(KeyError::NotRsa);
        }
        if !algorithm.is_empty() && !algorithm.expect(NULL)?.is_empty() {
            return Err(KeyError::Der("rsaEncryption's parameters are not NULL"));
        }
        algorithm.finish()?;
        let bits = spki.expect(BIT_STRING)?;
        spki.finish()?;
        match bits.split_first() {
            Some((0, key)) => PublicKey::from_pkcs1_der(key),
            _ => Err(KeyError::Der("the key's BIT STRING has unused bits")),
        }
    }

    /// RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } (RFC 8017 §A.1.1).
    pub fn from_pkcs1_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        let mut outer = Der::new(der);
        let mut key = Der::new(outer.expect(SEQUENCE)?);
        outer.finish()?;
        let n = positive(key.expect(INTEGER)?)?;
        let e = positive(key.expect(INTEGER)?)?;
        key.finish()?;
        let key = PublicKey {
            n: n.to_vec(),
            e: e.to_vec(),
        };
        let bits = key.bits();
        if !(MIN_BITS..=MAX_BITS).contains(&bits) {
            return Err(KeyError::Size(bits));
        }
        // *ring* checks the exponent too (odd, 3 ≤ e < 2³³); say it here, where it is read.
        if e.len() > 5 || e.last().is_none_or(|b| b % 2 == 0) || e == [1] {
            return Err(KeyError::Der(
                "the public exponent is not an odd number from 3",
            ));
        }
        Ok(key)
    }

    /// The modulus's length in bits.
    pub fn bits(&self) -> usize {
        match self.n.first() {
            Some(top) => self.n.len() * 8 - top.leading_zeros() as usize,
            None => 0,
        }
    }

    /// Whether `signature` is an RSASSA-PKCS1-v1_5 SHA-256 signature of `message` by this key.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        ring::signature::RsaPublicKeyComponents {
            n: &self.n,
            e: &self.e,
        }
        .verify(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            message,
            signature,
        )
        .is_ok()
    }
}

/// Get the current key from `url` (Kick's: [`PUBLIC_KEY_URL`]) with `tls`: one GET, at most
/// [`FETCH_TIMEOUT`] and [`MAX_FETCH_BYTES`].
pub async fn fetch_public_key(tls: &crate::tls::Tls, url: &str) -> Result<PublicKey, KeyError> {
    #[derive(serde::Deserialize)]
    struct Answer {
        data: Data,
    }
    #[derive(serde::Deserialize)]
    struct Data {
        public_key: String,
    }
    let fail = |e: &dyn std::fmt::Display| KeyError::Fetch(format!("{url}: {e}"));
    let client = tls
        .http_client()
        .timeout(FETCH_TIMEOUT)
        .build()
        .map_err(|e| fail(&e))?;
    let mut response = client.get(url).send().await.map_err(|e| fail(&e))?;
    if !response.status().is_success() {
        return Err(fail(&response.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| fail(&e))? {
        if body.len() + chunk.len() > MAX_FETCH_BYTES {
            return Err(fail(&format!("an answer over {MAX_FETCH_BYTES} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    let answer: Answer = serde_json::from_slice(&body).map_err(|e| fail(&e))?;
    PublicKey::from_pem(&answer.data.public_key)
}

/// The DER of the PEM block labelled `label` (RFC 7468), `None` when there is none.
fn pem_block(pem: &str, label: &str) -> Result<Option<Vec<u8>>, KeyError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let Some(start) = pem.find(&begin) else {
        return Ok(None);
    };
    let body = &pem[start + begin.len()..];
    let Some(stop) = body.find(&end) else {
        return Err(KeyError::NotPem);
    };
    let text: String = body[..stop]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map(Some)
        .map_err(|_| KeyError::Base64)
}

const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const NULL: u8 = 0x05;
const OID: u8 = 0x06;
const SEQUENCE: u8 = 0x30;

/// A DER reader over a slice: one tag-length-value at a time, every length checked against
/// what is left. Only the definite forms DER allows (X.690 §10.1): short lengths, and long ones
/// of at most 3 bytes (16 MiB, far more than a key).
struct Der<'a> {
    rest: &'a [u8],
}

impl<'a> Der<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Der { rest: bytes }
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The contents of the next element, which must have tag `tag`.
    fn expect(&mut self, tag: u8) -> Result<&'a [u8], KeyError> {
        let (&found, rest) = self
            .rest
            .split_first()
            .ok_or(KeyError::Der("it ends early"))?;
        if found != tag {
            return Err(KeyError::Der("an unexpected element"));
        }
        let (&first, mut rest) = rest.split_first().ok_or(KeyError::Der("it ends early"))?;
        let length = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 3 {
                return Err(KeyError::Der("a length form DER does not allow here"));
            }
            let bytes = rest.get(..count).ok_or(KeyError::Der("it ends early"))?;
            rest = &rest[count..];
            if bytes[0] == 0 {
                return Err(KeyError::Der("a length with leading zeros"));
            }
            let length = bytes.iter().fold(0usize, |n, b| (n << 8) | usize::from(*b));
            if length < 0x80 {
                return Err(KeyError::Der("a long length for a short value"));
            }
            length
        };
        let value = rest.get(..length).ok_or(KeyError::Der("it ends early"))?;
        self.rest = &rest[length..];
        Ok(value)
    }

    /// Nothing may follow.
    fn finish(&self) -> Result<(), KeyError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(KeyError::Der("bytes after the end"))
        }
    }
}

/// A positive INTEGER's magnitude without its sign byte (X.690 §8.3: minimal, two's
/// complement).
fn positive(integer: &[u8]) -> Result<&[u8], KeyError> {
    match integer {
        [] => Err(KeyError::Der("an empty INTEGER")),
        [first, ..] if first & 0x80 != 0 => Err(KeyError::Der("a negative INTEGER")),
        [0, next, ..] if next & 0x80 == 0 => Err(KeyError::Der("an INTEGER with a leading zero")),
        [0, rest @ ..] if !rest.is_empty() => Ok(rest),
        [0] => Err(KeyError::Der("a zero INTEGER")),
        _ => Ok(integer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spki_of(pem: &str) -> Vec<u8> {
        pem_block(pem, "PUBLIC KEY").unwrap().unwrap()
    }

    #[test]
    fn kicks_published_key_reads_as_rsa_2048() {
        let key = PublicKey::from_pem(KICK_PUBLIC_KEY_PEM).unwrap();
        assert_eq!(key.bits(), 2048);
        assert_eq!(key.e, [1, 0, 1]);
        assert_eq!(format!("{key:?}"), "PublicKey(RSA 2048 bits)");
        // With the text around it, and with the lines joined.
        let joined: String = KICK_PUBLIC_KEY_PEM.lines().collect::<Vec<_>>().join("");
        assert_eq!(PublicKey::from_pem(&format!("key:\n{joined}\n")), Ok(key));
    }

    fn refused(pem: &str) -> KeyError {
        PublicKey::from_pem(pem).expect_err(pem)
    }

    fn pem_of(der: &[u8]) -> String {
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(der)
        )
    }

    #[test]
    fn broken_pem_is_refused() {
        assert_eq!(refused(""), KeyError::NotPem);
        assert_eq!(
            refused("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"),
            KeyError::NotPem
        );
        assert_eq!(
            refused("-----BEGIN PUBLIC KEY-----\nMIIB"),
            KeyError::NotPem
        );
        assert_eq!(
            refused("-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----"),
            KeyError::Base64
        );
        assert_eq!(refused(&"A".repeat(MAX_PEM_BYTES + 1)), KeyError::TooLarge);
    }

    #[test]
    fn every_truncation_and_every_flipped_byte_of_the_der_is_refused_or_read_without_panic() {
        let der = spki_of(KICK_PUBLIC_KEY_PEM);
        for len in 0..der.len() {
            assert!(PublicKey::from_spki_der(&der[..len]).is_err(), "{len}");
        }
        let mut longer = der.clone();
        longer.push(0);
        assert_eq!(
            PublicKey::from_spki_der(&longer),
            Err(KeyError::Der("bytes after the end"))
        );
        for at in 0..der.len() {
            for bit in [0x01, 0x80] {
                let mut changed = der.clone();
                changed[at] ^= bit;
                // A changed modulus byte still reads as a key; everything else is refused.
                let _ = PublicKey::from_spki_der(&changed);
            }
        }
    }

    #[test]
    fn hostile_shapes_are_refused() {
        let check = |der: &[u8], expected: KeyError| {
            assert_eq!(
                PublicKey::from_spki_der(der),
                Err(expected.clone()),
                "{der:02x?}"
            );
            assert_eq!(refused(&pem_of(der)), expected);
        };
        // Lengths: indefinite, 4 bytes, leading zero, long form for a short value, past the end.
        check(
            &[0x30, 0x80, 0, 0],
            KeyError::Der("a length form DER does not allow here"),
        );
        check(
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
            KeyError::Der("a length form DER does not allow here"),
        );
        check(
            &[0x30, 0x82, 0x00, 0x05],
            KeyError::Der("a length with leading zeros"),
        );
        check(
            &[0x30, 0x81, 0x05, 0, 0, 0, 0, 0],
            KeyError::Der("a long length for a short value"),
        );
        check(
            &[0x30, 0x83, 0xff, 0xff, 0xff],
            KeyError::Der("it ends early"),
        );
        check(&[0x02, 0x01, 0x01], KeyError::Der("an unexpected element"));
        // Another algorithm (id-ecPublicKey 1.2.840.10045.2.1).
        let ec = [
            0x30, 0x0d, 0x30, 0x09, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x03,
            0x00,
        ];
        check(&ec, KeyError::NotRsa);
    }

    /// An SPKI around an RSAPublicKey of this modulus and exponent.
    fn spki(n: &[u8], e: &[u8]) -> Vec<u8> {
        fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
            let mut out = vec![tag];
            match value.len() {
                l if l < 0x80 => out.push(l as u8),
                l if l < 0x100 => out.extend([0x81, l as u8]),
                l => out.extend([0x82, (l >> 8) as u8, l as u8]),
            }
            out.extend_from_slice(value);
            out
        }
        let key = tlv(SEQUENCE, &[tlv(INTEGER, n), tlv(INTEGER, e)].concat());
        let algorithm = tlv(
            SEQUENCE,
            &[tlv(OID, RSA_ENCRYPTION), tlv(NULL, &[])].concat(),
        );
        tlv(
            SEQUENCE,
            &[algorithm, tlv(BIT_STRING, &[&[0], &key[..]].concat())].concat(),
        )
    }

    #[test]
    fn sizes_and_exponents_are_checked() {
        let n = |bits: usize| {
            let mut n = vec![0x00];
            n.push(0xc1);
            n.extend(std::iter::repeat_n(0x5a, bits / 8 - 1));
            n
        };
        assert_eq!(
            PublicKey::from_spki_der(&spki(&n(2048), &[1, 0, 1]))
                .unwrap()
                .bits(),
            2048
        );
        assert_eq!(
            PublicKey::from_spki_der(&spki(&n(1024), &[1, 0, 1])),
            Err(KeyError::Size(1024))
        );
        assert_eq!(
            PublicKey::from_spki_der(&spki(&n(8200), &[1, 0, 1])),
            Err(KeyError::Size(8200))
        );
        let exponent = Err(KeyError::Der(
            "the public exponent is not an odd number from 3",
        ));
        assert_eq!(PublicKey::from_spki_der(&spki(&n(2048), &[1])), exponent);
        assert_eq!(
            PublicKey::from_spki_der(&spki(&n(2048), &[1, 0, 0])),
            exponent
        );
        assert_eq!(
            PublicKey::from_spki_der(&spki(&n(2048), &[1, 0, 0, 0, 0, 1])),
            exponent
        );
        // A modulus without its sign byte is negative.
        assert_eq!(
            PublicKey::from_spki_der(&spki(&n(2048)[1..], &[1, 0, 1])),
            Err(KeyError::Der("a negative INTEGER"))
        );
        assert_eq!(
            PublicKey::from_spki_der(&spki(&[0, 0x01], &[1, 0, 1])),
            Err(KeyError::Der("an INTEGER with a leading zero"))
        );
        assert_eq!(
            PublicKey::from_spki_der(&spki(&[], &[1, 0, 1])),
            Err(KeyError::Der("an empty INTEGER"))
        );
    }

    #[test]
    fn a_signature_from_another_key_or_of_another_message_does_not_verify() {
        let key = PublicKey::from_pem(KICK_PUBLIC_KEY_PEM).unwrap();
        assert!(!key.verify(b"id.time.body", &[0u8; 256]));
        assert!(!key.verify(b"id.time.body", &[]));
        assert!(!key.verify(b"id.time.body", &[0xffu8; 4096]));
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_are_refused_or_read_without_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let _ = PublicKey::from_spki_der(&bytes);
            let _ = PublicKey::from_pkcs1_der(&bytes);
            let _ = PublicKey::from_pem(&pem_of(&bytes));
        }
    }
}
