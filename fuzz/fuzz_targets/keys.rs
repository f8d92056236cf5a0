//! Key and keyring parsing never panics, and each reader round-trips with its writer:
//! keyring `to_json_bytes`, SPKI PEM, PKCS#8 PEM and key ids.
#![no_main]

use evidence_core::keys::{KeyId, Keyring, PrivateKey, PublicKey, TrustPolicy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(ring) = Keyring::parse(data) {
        let bytes = ring.to_json_bytes();
        let back = Keyring::parse(&bytes).expect("a written keyring parses");
        assert_eq!(back, ring);
        assert_eq!(back.to_json_bytes(), bytes, "keyring bytes are not a fixed point");
        TrustPolicy::from_keyring(&ring).expect("a parsed keyring is a policy");
    }

    if let Ok(raw) = <[u8; 32]>::try_from(data.get(..32).unwrap_or_default())
        && let Ok(key) = PublicKey::from_raw(&raw)
    {
        assert_eq!(key.as_bytes(), &raw);
        let _ = key.verify_strict(data, data.get(32..).unwrap_or_default());
        let pem = key.to_spki_pem();
        assert_eq!(PublicKey::from_spki_pem(&pem).expect("written PEM parses"), key);
    }

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(id) = KeyId::parse(text) {
        assert_eq!(KeyId::parse(&id.to_string()), Some(id));
    }
    if let Ok(key) = PublicKey::from_spki_pem(text) {
        let pem = key.to_spki_pem();
        let back = PublicKey::from_spki_pem(&pem).expect("written PEM parses");
        assert_eq!(back, key);
        assert_eq!(back.to_spki_pem(), pem);
        assert_eq!(back.key_id(), key.key_id());
    }
    if let Ok(key) = PrivateKey::from_pkcs8_pem(text) {
        let pem = key.to_pkcs8_pem().expect("a parsed key serialises");
        let back = PrivateKey::from_pkcs8_pem(&pem).expect("written PEM parses");
        assert_eq!(back.public(), key.public());
        let sig = back.sign(data);
        key.public()
            .verify_strict(data, &sig)
            .expect("a key verifies its own signature");
    }
});
