//! Redaction corpus and properties. Test secrets are assembled at run time so that the source
//! itself does not look like it leaks credentials.

use base64::Engine as _;
use proptest::prelude::*;
use serde_json::json;

use super::*;

/// One sample per detector: class, the text as it appears, and the part that must vanish.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    pub(crate) class: SecretClass,
    pub(crate) text: String,
    pub(crate) secret: String,
}

fn sample(class: SecretClass, text: String) -> Sample {
    Sample {
        class,
        secret: text.clone(),
        text,
    }
}

/// The forbidden token every corpus redactor knows.
pub(crate) const FORBIDDEN: &str = "Corr3ct-H0rse/Battery";

pub(crate) fn samples() -> Vec<Sample> {
    let b64url = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let jwt = format!(
        "{}.{}.{}",
        b64url(&json!({"alg": "HS256", "typ": "JWT"})),
        b64url(&json!({"sub": "1234567890", "name": "Test", "iat": 1516239022})),
        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
    );
    let basic = base64::engine::general_purpose::STANDARD.encode("alice:s3cretPass");
    let pem = [
        "-----BEGIN PRIVATE KEY-----",
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj",
        "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu",
        "-----END PRIVATE KEY-----",
    ]
    .join("\n");
    vec![
        sample(
            SecretClass::GithubToken,
            format!("{}{}", "ghp_", "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"),
        ),
        sample(
            SecretClass::GithubToken,
            format!(
                "{}{}",
                "github_pat_",
                "11ABCDEFG0123456789abc_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKlMnOpQrS"
            ),
        ),
        sample(
            SecretClass::GitlabToken,
            format!("{}{}", "glpat-", "xYz12AbC3dEf4GhI5jKl"),
        ),
        sample(
            SecretClass::AwsAccessKeyId,
            format!("{}{}", "AKIA", "Z7Q2X9V4B6N1M3K5"),
        ),
        sample(
            SecretClass::AwsAccessKeyId,
            format!("{}{}", "ASIA", "Q7W2E9R4T6Y1U3I5"),
        ),
        sample(
            SecretClass::OpenaiKey,
            format!(
                "{}{}",
                "sk-proj-", "T3stK3yAbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
            ),
        ),
        sample(
            SecretClass::OpenaiKey,
            format!(
                "{}{}",
                "sk-", "Xy12Ab34Cd56Ef78Gh90Ij12Kl34Mn56Op78Qr90St12Uv34"
            ),
        ),
        sample(
            SecretClass::AnthropicKey,
            format!("{}{}", "sk-ant-api03-", "Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0"),
        ),
        sample(
            SecretClass::SlackToken,
            format!("{}{}", "xoxb-", "1234567890-0987654321-AbCdEfGhIjKlMnOp"),
        ),
        sample(
            SecretClass::StripeLiveKey,
            format!("{}{}", "sk_live_", "4eC39HqLyjWDarjtT1zdp7dc"),
        ),
        sample(
            SecretClass::StripeLiveKey,
            format!("{}{}", "rk_live_", "51H8sQ2eZvKYlo2C0aBcDeFgH"),
        ),
        sample(
            SecretClass::GoogleApiKey,
            format!("{}{}", "AIza", "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"),
        ),
        sample(
            SecretClass::NpmToken,
            format!("{}{}", "npm_", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"),
        ),
        sample(SecretClass::Jwt, jwt),
        sample(SecretClass::PrivateKeyPem, pem),
        Sample {
            class: SecretClass::BearerToken,
            text: "Bearer opaque.Tok3n-value_123".to_owned(),
            secret: "opaque.Tok3n-value_123".to_owned(),
        },
        Sample {
            class: SecretClass::BasicAuth,
            text: format!("Basic {basic}"),
            secret: basic,
        },
        Sample {
            class: SecretClass::UrlPassword,
            text: "postgres://alice:Sup3rS3cret@db.internal:5432/app".to_owned(),
            secret: "Sup3rS3cret".to_owned(),
        },
        sample(SecretClass::ForbiddenToken, FORBIDDEN.to_owned()),
    ]
}

pub(crate) fn redactor() -> Redactor {
    Redactor::new(&[FORBIDDEN.to_owned()]).unwrap()
}

fn redact(input: &str, hint: ContentHint) -> (String, BTreeMap<String, u64>) {
    let out = redactor().redact_bytes(input.as_bytes(), hint);
    (String::from_utf8(out.bytes).unwrap(), out.counts.by_name())
}

fn counts(pairs: &[(SecretClass, u64)]) -> BTreeMap<String, u64> {
    let mut c = RedactionCounts::new();
    for (class, n) in pairs {
        c.add(*class, *n);
    }
    c.by_name()
}

/// What redaction of `text` should give: the secret part replaced by the placeholder.
fn expected(text: &str, s: &Sample) -> String {
    text.replace(&s.secret, &s.class.placeholder())
}

fn assert_json(text: &str) {
    if let Err(e) = serde_json::from_str::<serde_json::Value>(text) {
        let shown: String = text.chars().take(300).collect();
        panic!("output is not JSON ({e}): {shown}");
    }
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

#[test]
fn every_class_as_a_whole_json_value() {
    for s in samples() {
        let input = format!(r#"{{"note": {}, "n": 1.50}}"#, json_str(&s.text));
        let (out, c) = redact(&input, ContentHint::Json);
        assert_json(&out);
        assert!(!out.contains(&s.secret), "{:?} survived: {out}", s.class);
        assert_eq!(
            out,
            format!(
                r#"{{"note": {}, "n": 1.50}}"#,
                json_str(&expected(&s.text, &s))
            ),
            "{:?}",
            s.class
        );
        assert_eq!(c, counts(&[(s.class, 1)]), "{:?}", s.class);
    }
}

#[test]
fn every_class_inside_a_longer_string() {
    for s in samples() {
        let text = format!("auth failed for {} (retry 3)", s.text);
        let input = format!(r#"{{"msg":{}}}"#, json_str(&text));
        let (out, c) = redact(&input, ContentHint::Auto);
        assert_json(&out);
        assert!(!out.contains(&s.secret), "{:?} survived: {out}", s.class);
        assert_eq!(
            out,
            format!(r#"{{"msg":{}}}"#, json_str(&expected(&text, &s)))
        );
        assert_eq!(c, counts(&[(s.class, 1)]), "{:?}", s.class);
    }
}

#[test]
fn every_class_in_arrays_and_nested_objects() {
    for s in samples() {
        let v = json_str(&s.text);
        let input = format!(
            r#"{{"a": [1, {{"b": ["x", {v}]}}], "c": {{"d": {{"e": {v}}}}}, "f": [[[{v}]]]}}"#
        );
        let (out, c) = redact(&input, ContentHint::Json);
        assert_json(&out);
        assert!(!out.contains(&s.secret), "{:?} survived: {out}", s.class);
        let r = json_str(&expected(&s.text, &s));
        assert_eq!(
            out,
            format!(
                r#"{{"a": [1, {{"b": ["x", {r}]}}], "c": {{"d": {{"e": {r}}}}}, "f": [[[{r}]]]}}"#
            )
        );
        assert_eq!(c, counts(&[(s.class, 3)]), "{:?}", s.class);
    }
}

#[test]
fn every_class_in_log_text_and_jsonl() {
    let all = samples();
    let mut log = String::new();
    let mut want = String::new();
    for (i, s) in all.iter().enumerate() {
        let line = format!(
            "2024-05-01T10:00:{i:02}Z worker[{i}] value {} ok\r\n",
            s.text
        );
        log.push_str(&line);
        want.push_str(&expected(&line, s));
    }
    let (out, c) = redact(&log, ContentHint::Text);
    assert_eq!(out, want);
    for s in &all {
        assert!(!out.contains(&s.secret), "{:?} survived", s.class);
    }
    let mut per_class = RedactionCounts::new();
    for s in &all {
        per_class.add(s.class, 1);
    }
    assert_eq!(c, per_class.by_name());
    // The same lines under Auto: not JSON, so line by line, same result.
    assert_eq!(redact(&log, ContentHint::Auto).0, want);

    // JSON Lines, with a bad line in the middle that falls back to text.
    let mut jsonl = String::new();
    let mut want = String::new();
    for s in &all {
        let line = format!("{}\n", json!({"event": "x", "detail": s.text}));
        jsonl.push_str(&line);
        want.push_str(&format!(
            "{}\n",
            json!({"event": "x", "detail": expected(&s.text, s)})
        ));
    }
    let bad = "{not json but has token=abcdef123 inside\n";
    jsonl.push_str(bad);
    want.push_str("{not json but has token=[REDACTED:secret-key-name] inside\n");
    let (out, c) = redact(&jsonl, ContentHint::JsonLines);
    assert_eq!(out, want);
    for line in out.lines().take(all.len()) {
        assert_json(line);
    }
    per_class.add(SecretClass::SecretKeyName, 1);
    assert_eq!(c, per_class.by_name());
}

#[test]
fn http_header_objects() {
    let s = samples();
    let jwt = s.iter().find(|s| s.class == SecretClass::Jwt).unwrap();
    let input = format!(
        r#"{{"request": {{"method": "GET", "headers": {{"Authorization": "Bearer {}", "Proxy-Authorization": "Basic Zm9vOmJhcg==", "X-Api-Key": "k-123456", "Cookie": "sid=abc; theme=dark", "Accept": "application/json"}}}}, "response": {{"headers": {{"Set-Cookie": ["a=1", "b=2"]}}, "usage": {{"prompt_tokens": 12, "token_count": 5, "max_tokens": 100}}}}}}"#,
        jwt.text
    );
    let (out, c) = redact(&input, ContentHint::Json);
    assert_json(&out);
    let k = "\"[REDACTED:secret-key-name]\"";
    assert_eq!(
        out,
        format!(
            r#"{{"request": {{"method": "GET", "headers": {{"Authorization": {k}, "Proxy-Authorization": {k}, "X-Api-Key": {k}, "Cookie": {k}, "Accept": "application/json"}}}}, "response": {{"headers": {{"Set-Cookie": {k}}}, "usage": {{"prompt_tokens": 12, "token_count": 5, "max_tokens": 100}}}}}}"#
        )
    );
    assert_eq!(c, counts(&[(SecretClass::SecretKeyName, 5)]));
}

#[test]
fn references_under_secret_names_are_kept_and_literals_redacted() {
    let r = redactor();
    let input = r#"{"token": "${{ secrets.X }}", "id-token": "write", "api_key": "<your-key>", "env": [{"name": "DB_PASSWORD", "value": "$DB_PASSWORD"}], "password": "hunter2hunter2"}"#;
    let out = r.redact_bytes(input.as_bytes(), ContentHint::Json);
    let want = input.replace("\"hunter2hunter2\"", "\"[REDACTED:secret-key-name]\"");
    assert_eq!(String::from_utf8(out.bytes).unwrap(), want);
    let mut value: serde_json::Value = serde_json::from_str(input).unwrap();
    r.redact_value(&mut value);
    assert_eq!(
        value,
        serde_json::from_str::<serde_json::Value>(&want).unwrap()
    );
    let text =
        "token: ${{ secrets.X }}\npassword = get_password()\npassword = \"hunter2hunter2\"\n";
    let out = r.redact_bytes(text.as_bytes(), ContentHint::Text);
    assert_eq!(
        String::from_utf8(out.bytes).unwrap(),
        text.replace("hunter2hunter2", "[REDACTED:secret-key-name]")
    );
}

#[test]
fn key_named_secrets_of_every_type() {
    let input = r#"{"api_key": ["a", {"b": 1}], "password": 123456, "client_secret": {"x": [1, 2]}, "token": "abc", "session_id": "s-1", "passwd": null, "secret": true, "db_password": "", "refresh_token": "[REDACTED:jwt]", "credentials": [], "token_count": 7, "session_count": 2, "tokens_used": 3}"#;
    let (out, c) = redact(input, ContentHint::Json);
    assert_json(&out);
    let k = "\"[REDACTED:secret-key-name]\"";
    assert_eq!(
        out,
        format!(
            r#"{{"api_key": {k}, "password": {k}, "client_secret": {k}, "token": {k}, "session_id": {k}, "passwd": null, "secret": true, "db_password": "", "refresh_token": "[REDACTED:jwt]", "credentials": {k}, "token_count": 7, "session_count": 2, "tokens_used": 3}}"#
        )
    );
    assert_eq!(c, counts(&[(SecretClass::SecretKeyName, 6)]));
}

#[test]
fn keys_are_compared_after_unescaping() {
    let input = r#"{"pass\u0077ord": "hunter22", "a\/b": 1}"#;
    let (out, _) = redact(input, ContentHint::Json);
    assert_eq!(
        out,
        r#"{"pass\u0077ord": "[REDACTED:secret-key-name]", "a\/b": 1}"#
    );
}

#[test]
fn name_value_pairs() {
    let input = r#"{"headers": [{"name": "Authorization", "value": "token abc123"}, {"name": "Accept", "value": "text/html"}], "env": [{"Name": "DB_PASSWORD", "Value": {"from": "x"}}], "cookies": [{"name": "theme", "value": "dark"}]}"#;
    let (out, c) = redact(input, ContentHint::Json);
    assert_json(&out);
    // `cookies` names a secret itself: its whole array goes.
    let k = "\"[REDACTED:secret-key-name]\"";
    assert_eq!(
        out,
        format!(
            r#"{{"headers": [{{"name": "Authorization", "value": {k}}}, {{"name": "Accept", "value": "text/html"}}], "env": [{{"Name": "DB_PASSWORD", "Value": {k}}}], "cookies": {k}}}"#
        )
    );
    assert_eq!(c, counts(&[(SecretClass::SecretKeyName, 3)]));
}

#[test]
fn object_keys_holding_secrets_are_redacted_inside_the_key() {
    let s = samples();
    let gh = &s[0].text;
    let input = format!(r#"{{"{gh}": {{"scopes": ["repo"]}}, "by-user {gh} x": 1}}"#);
    let (out, c) = redact(&input, ContentHint::Json);
    assert_json(&out);
    assert_eq!(
        out,
        r#"{"[REDACTED:github-token]": {"scopes": ["repo"]}, "by-user [REDACTED:github-token] x": 1}"#
    );
    assert_eq!(c, counts(&[(SecretClass::GithubToken, 2)]));
}

#[test]
fn untouched_bytes_are_kept_exactly() {
    let input = "{\n  \"z\": 1.000000000000000000001,\n  \"a\": [1e400, -0.0, 123456789012345678901234567890],\n  \"esc\": \"\\u00e9\\/\\ud83d\\ude00 \\\"q\\\"\",\n  \"b\" :\t{ } ,\"token_count\":5\n}\n";
    let out = redactor().redact_bytes(input.as_bytes(), ContentHint::Json);
    assert_eq!(out.bytes, input.as_bytes());
    assert!(out.counts.is_empty());
    // With a secret, only its bytes change.
    let with = input.replace("\"b\" :", "\"password\": \"x y\", \"b\" :");
    let out = redactor().redact_bytes(with.as_bytes(), ContentHint::Json);
    assert_eq!(
        String::from_utf8(out.bytes).unwrap(),
        input.replace(
            "\"b\" :",
            "\"password\": \"[REDACTED:secret-key-name]\", \"b\" :"
        )
    );
}

#[test]
fn escaped_forms_inside_json_strings() {
    let s = samples();
    // An escaped quote next to the secret, and the secret's own `/` escaped.
    let gh = &s[0].text;
    let input = format!(
        r#"{{"msg": "say \"{gh}\" now", "f": "{}"}}"#,
        FORBIDDEN.replace('/', "\\/")
    );
    let (out, c) = redact(&input, ContentHint::Json);
    assert_json(&out);
    assert_eq!(
        out,
        r#"{"msg": "say \"[REDACTED:github-token]\" now", "f": "[REDACTED:forbidden-token]"}"#
    );
    assert_eq!(
        c,
        counts(&[
            (SecretClass::GithubToken, 1),
            (SecretClass::ForbiddenToken, 1)
        ])
    );
    // A fully \u-escaped secret is found on the parsed value and replaced whole.
    let escaped: String = gh
        .chars()
        .map(|ch| format!("\\u{:04x}", ch as u32))
        .collect();
    let input = format!(r#"["pre {escaped} post"]"#);
    let (out, _) = redact(&input, ContentHint::Json);
    assert_eq!(out, r#"["pre [REDACTED:github-token] post"]"#);
    // JSON text embedded in a JSON string (a log line inside JSON).
    let inner = json!({"password": "hunter22", "user": "bob"}).to_string();
    let input = json!({"log": inner}).to_string();
    let (out, c) = redact(&input, ContentHint::Json);
    assert_json(&out);
    assert!(!out.contains("hunter22"));
    assert!(out.contains("bob"));
    assert_eq!(c, counts(&[(SecretClass::SecretKeyName, 1)]));
}

#[test]
fn urls_with_secret_query_parameters() {
    let input = r#"{"url": "https://api.example.com/v1/items?page=2&access_token=abc123XYZ&sort=asc", "next": "https://x.example/cb?code=1&state=2"}"#;
    let (out, c) = redact(input, ContentHint::Json);
    assert_eq!(
        out,
        r#"{"url": "https://api.example.com/v1/items?page=2&access_token=[REDACTED:secret-key-name]&sort=asc", "next": "https://x.example/cb?code=1&state=2"}"#
    );
    assert_eq!(c, counts(&[(SecretClass::SecretKeyName, 1)]));
}

/// Percent-encodes every byte of `s`.
fn percent_all(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[test]
fn forbidden_token_in_every_encoding() {
    let token = "open sesame/42\"Ünï";
    let r = Redactor::new(&[token.to_owned()]).unwrap();
    let check = |text: &str, hint: ContentHint| {
        let out = r.redact_bytes(text.as_bytes(), hint);
        let s = String::from_utf8(out.bytes).unwrap();
        assert!(
            s.contains("[REDACTED:forbidden-token]"),
            "not found in {text:?} ({hint:?}): {s}"
        );
        assert_eq!(
            out.counts.get(SecretClass::ForbiddenToken),
            1,
            "{text}: {s}"
        );
        s
    };
    // Raw.
    check(&format!("x {token} y"), ContentHint::Text);
    // JSON-escaped, several ways, in text (escapes are not undone by a parser there).
    let minimal = serde_json::to_string(token).unwrap();
    let slashes = minimal.replace('/', "\\/");
    let unicode: String = token
        .encode_utf16()
        .map(|u| format!("\\u{u:04x}"))
        .collect();
    let unicode = format!("\"{unicode}\"");
    let mixed = slashes.replace('Ü', "\\u00dc");
    for form in [&minimal, &slashes, &unicode, &mixed] {
        let s = check(&format!("log: {{\"v\": {form}}} end"), ContentHint::Text);
        assert!(s.starts_with("log: {\"v\": ") && s.ends_with(" end"), "{s}");
        // And as a real JSON document.
        let s = check(&format!("{{\"v\": {form}}}"), ContentHint::Json);
        assert_json(&s);
    }
    // URL-encoded: every byte, the usual way (+ for space), and mixed.
    let usual: String = url_encode_form(token);
    for form in [percent_all(token), usual.clone(), usual.replace("%2F", "/")] {
        let s = check(
            &format!("GET /cb?next={form}&x=1 HTTP/1.1"),
            ContentHint::Text,
        );
        assert!(s.ends_with("&x=1 HTTP/1.1"), "{s}");
    }
    // Base64, standard and URL-safe, at all three alignments, embedded in longer data.
    for prefix in ["", "a", "ab", "abc", "abcd"] {
        for suffix in ["", "z", "zz", "zzz"] {
            let data = format!("{prefix}{token}{suffix}");
            for engine in [
                &base64::engine::general_purpose::STANDARD,
                &base64::engine::general_purpose::URL_SAFE,
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ] {
                let enc = engine.encode(data.as_bytes());
                check(&format!("blob: {enc}\n"), ContentHint::Text);
                let s = check(&json!({"blob": enc}).to_string(), ContentHint::Json);
                assert_json(&s);
            }
        }
    }
}

fn url_encode_form(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b' ' => "+".to_owned(),
            b if b.is_ascii_alphanumeric() => char::from(b).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn json_escaped_secrets_in_text_files() {
    let s = samples();
    let pem = s
        .iter()
        .find(|s| s.class == SecretClass::PrivateKeyPem)
        .unwrap();
    // A JSON document stored in a .log: the PEM's newlines are `\n` escapes, slashes `\/`.
    let escaped = serde_json::to_string(&pem.text)
        .unwrap()
        .replace('/', "\\/");
    let line = format!("2024-01-01 config={{\"key\": {escaped}}}\n");
    let (out, c) = redact(&line, ContentHint::Text);
    assert_eq!(
        out,
        "2024-01-01 config={\"key\": \"[REDACTED:private-key-pem]\"}\n"
    );
    assert_eq!(c, counts(&[(SecretClass::PrivateKeyPem, 1)]));
}

#[test]
fn pem_blocks_span_lines_in_text() {
    let s = samples();
    let pem = s
        .iter()
        .find(|s| s.class == SecretClass::PrivateKeyPem)
        .unwrap();
    let crlf = pem.text.replace('\n', "\r\n");
    let text = format!("start\r\n{crlf}\r\nend\r\n");
    let (out, c) = redact(&text, ContentHint::Auto);
    assert_eq!(out, "start\r\n[REDACTED:private-key-pem]\r\nend\r\n");
    assert_eq!(c, counts(&[(SecretClass::PrivateKeyPem, 1)]));
    // Between JSON lines, the text run still sees the block whole.
    let text = format!("{{\"a\":1}}\n{}\n{{\"b\":2}}\n", pem.text);
    let (out, _) = redact(&text, ContentHint::JsonLines);
    assert_eq!(out, "{\"a\":1}\n[REDACTED:private-key-pem]\n{\"b\":2}\n");
}

#[test]
fn non_utf8_text_keeps_its_other_bytes() {
    let s = samples();
    let mut input = b"\xff\xfe bin \x00\x80 token=".to_vec();
    input.extend_from_slice(b"abc\xffdef rest \xc3\x28 ");
    input.extend_from_slice(s[0].text.as_bytes());
    input.extend_from_slice(b"\xe2\x82\r\n");
    let out = redactor().redact_bytes(&input, ContentHint::Auto);
    let mut want =
        b"\xff\xfe bin \x00\x80 token=[REDACTED:secret-key-name] rest \xc3\x28 ".to_vec();
    want.extend_from_slice(b"[REDACTED:github-token]\xe2\x82\r\n");
    assert_eq!(out.bytes, want);
    assert_eq!(
        out.counts.by_name(),
        counts(&[
            (SecretClass::SecretKeyName, 1),
            (SecretClass::GithubToken, 1)
        ])
    );
}

#[test]
fn no_false_positives_on_ordinary_content() {
    let uuid = "123e4567-e89b-12d3-a456-426614174000";
    let sha = "9fceb02d0ae598e95dc970b74767f19372d61af8";
    let digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let b64 = base64::engine::general_purpose::STANDARD
        .encode("The quick brown fox jumps over the lazy dog, again and again and again.");
    let doc = json!({
        "commit": sha,
        "release_tag": "v1.2.3",
        "deployment_id": uuid,
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "idempotency_key": "5f8a2c1e-order-42",
        "artifact": digest,
        "attachment": b64,
        "usage": {"prompt_tokens": 12, "completion_tokens": 40, "total_tokens": 52,
                  "token_count": 5, "tokens_used": 9, "max_tokens": 100},
        "session_count": 3,
        "token_type": "Bearer",
        "expires_in": 3600,
        "secret_name": "db-credentials",
        "private_key_id": "abc123",
        "public_key": "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----",
        "url": "https://example.com/path?page=2&sort=desc#frag",
        "ssh": "ssh://git@github.com/org/repo.git",
        "text": "Use a Bearer token in the Authorization header; see Basic auth docs.",
        "sk": "sk-learn-is-a-python-library-for-ml",
        "ratio": 1.0e-7,
        "tags": ["AKIA", "eyJ", "ghp_", "xoxb-", "-----BEGIN"],
        "nested": [[[]], {}],
    });
    for text in [
        serde_json::to_string(&doc).unwrap(),
        serde_json::to_string_pretty(&doc).unwrap(),
        format!(
            "commit {sha} digest {digest}\nuuid={uuid} data={b64}\nWWW-Authenticate: Bearer realm=\"api\", error=\"invalid_token\"\nhttps://example.com/?page_token=2 max_tokens=5 token_count=3\n"
        ),
    ] {
        for hint in [ContentHint::Auto, ContentHint::Json, ContentHint::Text] {
            let out = redactor().redact_bytes(text.as_bytes(), hint);
            assert_eq!(
                String::from_utf8_lossy(&out.bytes),
                text,
                "changed under {hint:?}"
            );
            assert!(out.counts.is_empty(), "{:?}", out.counts);
        }
    }
}

#[test]
fn odd_input_never_panics() {
    let r = redactor();
    let deep = format!(
        "{}\"password\": \"x\"{}",
        "{\"a\":".repeat(600),
        "}".repeat(600)
    );
    let deep_arr = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let cases: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"\n\n\r\n".to_vec(),
        b"\"".to_vec(),
        b"\\".to_vec(),
        b"{\"a\": \"\\".to_vec(),
        b"{\"password\":".to_vec(),
        b"[REDACTED:".to_vec(),
        b"-----BEGIN PRIVATE KEY-----".to_vec(),
        b"eyJ.eyJ.".to_vec(),
        b"\xff\xfe\xfd".to_vec(),
        b"Bearer ".to_vec(),
        b"x://:@".to_vec(),
        b"%".to_vec(),
        b"%2".to_vec(),
        b"\\u".to_vec(),
        b"\\ud83d".to_vec(),
        deep.clone().into_bytes(),
        deep_arr.into_bytes(),
    ];
    for case in &cases {
        for hint in [
            ContentHint::Auto,
            ContentHint::Json,
            ContentHint::JsonLines,
            ContentHint::Text,
        ] {
            let _ = r.redact_bytes(case, hint);
        }
    }
    // Beyond the depth limit the document falls back to text, which still finds the value.
    let out = r.redact_bytes(deep.as_bytes(), ContentHint::Json);
    let text = String::from_utf8(out.bytes).unwrap();
    assert!(!text.contains("\"x\""));
    assert_eq!(out.counts.json_fallbacks(), 1);
    assert_eq!(out.counts.get(SecretClass::SecretKeyName), 1);
}

#[test]
fn huge_lines_stay_linear() {
    let s = samples();
    let gh = &s[0].text;
    let filler = "abc def=1 ".repeat(1_000_000);
    let text = format!("{gh} {filler} {gh} {filler} \"password\": \"p\" {gh}");
    let started = std::time::Instant::now();
    let out = redactor().redact_bytes(text.as_bytes(), ContentHint::Auto);
    // A generous bound: this guards against quadratic behaviour, it is not a benchmark.
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    assert_eq!(out.counts.get(SecretClass::GithubToken), 3);
    assert_eq!(out.counts.get(SecretClass::SecretKeyName), 1);
    // A huge JSON string with escapes, decoded window by window.
    let value = format!(
        "{}\\n{gh}\\n{}",
        "x\\/".repeat(800_000),
        "y".repeat(3_000_000)
    );
    let doc = format!("{{\"log\": \"{value}\", \"n\": 1}}");
    let out = redactor().redact_bytes(doc.as_bytes(), ContentHint::Json);
    assert_eq!(out.counts.get(SecretClass::GithubToken), 1);
    assert_eq!(
        out.bytes.len(),
        doc.len() - gh.len() + "[REDACTED:github-token]".len()
    );
}

#[test]
fn redactor_construction_and_debug() {
    let secret = "super-secret-value".to_owned();
    let r = Redactor::new(std::slice::from_ref(&secret)).unwrap();
    let dbg = format!("{r:?}");
    assert!(!dbg.contains(&secret) && !dbg.contains("super"), "{dbg}");
    assert_eq!(
        Redactor::new(&[String::new()]).unwrap_err(),
        RedactError::EmptyToken { index: 0 }
    );
    let err = Redactor::new(&["abc12345".to_owned(), "short".to_owned()]).unwrap_err();
    assert_eq!(
        err,
        RedactError::TokenTooShort {
            index: 1,
            len: 5,
            min: MIN_TOKEN_BYTES
        }
    );
    assert!(!err.to_string().contains("short"), "{err}");
    assert!(matches!(
        Redactor::new(&["x".repeat(MAX_TOKEN_BYTES + 1)]),
        Err(RedactError::TokenTooLong { .. })
    ));
    assert!(matches!(
        Redactor::new(&vec!["abcdefgh".to_owned(); MAX_TOKENS + 1]),
        Err(RedactError::TooManyTokens { .. })
    ));
    // Duplicates are fine.
    assert!(Redactor::new(&[secret.clone(), secret]).is_ok());
}

#[test]
fn redactor_can_be_shared_across_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Redactor>();
    shared::<Redacted>();
}

#[test]
fn class_names_are_stable_and_well_formed() {
    let names: Vec<&str> = SecretClass::ALL.iter().map(|c| c.as_str()).collect();
    for name in &names {
        assert!(!name.is_empty() && name.len() <= 64);
        assert!(
            name.bytes().next().unwrap().is_ascii_alphanumeric()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{name}"
        );
        assert_eq!(
            SecretClass::from_name(name).map(|c| c.as_str()),
            Some(*name)
        );
    }
    let unique: std::collections::BTreeSet<&&str> = names.iter().collect();
    assert_eq!(unique.len(), names.len());
    let doc = include_str!("../../../docs/FORMAT.md");
    for name in names {
        assert!(
            doc.contains(&format!("| `{name}` |")),
            "{name} is not in FORMAT.md"
        );
    }
}

#[test]
fn content_hints_from_paths() {
    assert_eq!(ContentHint::from_path("a/b.json"), ContentHint::Json);
    assert_eq!(ContentHint::from_path("x.HAR"), ContentHint::Json);
    assert_eq!(ContentHint::from_path("j.jsonl"), ContentHint::JsonLines);
    assert_eq!(ContentHint::from_path("j.ndjson"), ContentHint::JsonLines);
    assert_eq!(ContentHint::from_path("app.log"), ContentHint::Auto);
    assert_eq!(ContentHint::from_path("json"), ContentHint::Auto);
    assert_eq!(ContentHint::from_path("dir.json/file"), ContentHint::Auto);
}

#[test]
fn counts_api() {
    let mut a = RedactionCounts::new();
    a.add(SecretClass::Jwt, 2);
    a.add(SecretClass::Jwt, 0);
    let mut b = RedactionCounts::new();
    b.add(SecretClass::Jwt, 1);
    b.add(SecretClass::ForbiddenToken, 4);
    a.merge(&b);
    assert_eq!(a.total(), 7);
    assert_eq!(a.get(SecretClass::Jwt), 3);
    assert_eq!(
        a.by_name().into_iter().collect::<Vec<_>>(),
        vec![("forbidden-token".to_owned(), 4), ("jwt".to_owned(), 3)]
    );
    assert_eq!(a.iter().count(), 2);
}

#[test]
fn redact_value_in_place() {
    let s = samples();
    let gh = s[0].text.clone();
    let mut v = json!({
        "headers": {"Authorization": "Bearer abc.def.ghi", "Accept": "*/*"},
        "body": {"items": [format!("see {gh}"), 1, null], "api_key": [1, 2]},
        "n": 12345678901i64,
        gh.clone(): 1,
        "[REDACTED:github-token]": 2,
        "pairs": [{"name": "Cookie", "value": "a=b"}],
        "token_count": 4,
    });
    let r = Redactor::new(&["12345678901".to_owned()]).unwrap();
    let c = r.redact_value(&mut v);
    let text = v.to_string();
    assert!(!text.contains(&gh) && !text.contains("abc.def.ghi") && !text.contains("a=b"));
    assert_eq!(v["headers"]["Accept"], "*/*");
    assert_eq!(v["body"]["items"][0], "see [REDACTED:github-token]");
    assert_eq!(v["n"], "[REDACTED:forbidden-token]");
    assert_eq!(v["token_count"], 4);
    assert_eq!(v["[REDACTED:github-token]"], 2);
    assert_eq!(v["[REDACTED:github-token]#2"], 1);
    assert_eq!(
        c.by_name(),
        counts(&[
            (SecretClass::SecretKeyName, 3),
            (SecretClass::GithubToken, 2),
            (SecretClass::ForbiddenToken, 1)
        ])
    );
    // Idempotent.
    let before = v.clone();
    assert!(r.redact_value(&mut v).is_empty());
    assert_eq!(v, before);
}

#[test]
fn forbidden_numbers_in_documents() {
    let r = Redactor::new(&["12345678901".to_owned()]).unwrap();
    let out = r.redact_bytes(br#"{"acct": 12345678901, "other": 2}"#, ContentHint::Json);
    assert_eq!(
        out.bytes,
        br#"{"acct": "[REDACTED:forbidden-token]", "other": 2}"#
    );
}

// ---------------------------------------------------------------------------------------
// Properties

fn planted() -> Vec<String> {
    samples()
        .into_iter()
        .filter(|s| s.secret == s.text)
        .map(|s| s.text)
        .collect()
}

fn leaf() -> impl Strategy<Value = serde_json::Value> {
    let secrets = planted();
    prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[ -~]{0,12}".prop_map(serde_json::Value::String),
        ".{0,8}".prop_map(serde_json::Value::String),
        (0..secrets.len(), "[ -~]{0,6}", "[ -~]{0,6}").prop_map(move |(i, a, b)| {
            serde_json::Value::String(format!("{a} {} {b}", secrets[i]))
        }),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_]{1,8}",
        Just("password".to_owned()),
        Just("token_count".to_owned()),
        Just("X-Api-Key".to_owned()),
        Just("name".to_owned()),
        Just("value".to_owned()),
        ".{0,6}",
    ]
}

fn document() -> impl Strategy<Value = serde_json::Value> {
    leaf().prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            proptest::collection::vec((key(), inner), 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Text built from fragments that exercise every detector and every decoder.
fn soup() -> impl Strategy<Value = Vec<u8>> {
    let mut frags: Vec<Vec<u8>> = planted().into_iter().map(String::into_bytes).collect();
    for f in [
        "\"",
        "\\",
        "\\\"",
        "\\n",
        "\\u00",
        "\\/",
        "%",
        "%2F",
        "+",
        "=",
        ":",
        " ",
        "\n",
        "\r\n",
        "{",
        "}",
        "[",
        "]",
        ",",
        "password",
        "token",
        "Bearer ",
        "Basic ",
        "://",
        "@",
        "[REDACTED:",
        "[REDACTED:jwt]",
        "-----BEGIN PRIVATE KEY-----",
        "-----END PRIVATE KEY-----",
        "MIIEvQ",
        "{\"name\":\"",
        "\",\"value\":",
        "postgres://u:",
        "@h/",
        "dXNlcjpwYXNz",
        "eyJhbGciOiJIUzI1NiJ9",
        ".",
        "AIza",
        "glpat-",
        "_live_",
        "xoxb-",
        "npm_",
        "-----END RSA PRIVATE KEY-----",
        "\\u0022",
        "%22",
        "%3D",
        "token%3D",
        "Authorization: ",
        "\t",
        "api_key",
        "#",
        "eyJ",
        "ghp_",
        "AKIA",
        "sk-",
        "\u{e9}",
        "\u{1F600}",
    ] {
        frags.push(f.as_bytes().to_vec());
    }
    frags.push(vec![0xff]);
    frags.push(vec![0xc3]);
    let frags = std::sync::Arc::new(frags);
    proptest::collection::vec(
        prop_oneof![
            (0..frags.len()).prop_map(move |i| frags[i].clone()),
            proptest::collection::vec(any::<u8>(), 0..4),
            "[A-Za-z0-9]{0,8}".prop_map(String::into_bytes),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

// 256 cases each by default; set PROPTEST_CASES for a longer run.
proptest! {
    #[test]
    fn json_documents_stay_json_and_lose_planted_secrets(
        doc in document(),
        pretty in any::<bool>(),
    ) {
        let text = if pretty {
            serde_json::to_string_pretty(&doc).unwrap()
        } else {
            serde_json::to_string(&doc).unwrap()
        };
        let r = redactor();
        let out = r.redact_bytes(text.as_bytes(), ContentHint::Json);
        let out_text = String::from_utf8(out.bytes.clone()).unwrap();
        prop_assert!(serde_json::from_str::<serde_json::Value>(&out_text).is_ok(), "{}", out_text);
        for secret in planted() {
            prop_assert!(!out_text.contains(&secret), "{} survived in {}", secret, out_text);
            let escaped = serde_json::to_string(&secret).unwrap();
            let escaped = escaped.trim_matches('"');
            prop_assert!(!out_text.contains(escaped));
        }
        prop_assert_eq!(out.counts.json_fallbacks(), 0);
        if out.counts.is_empty() {
            prop_assert_eq!(&out_text, &text);
        }
        // Idempotent.
        let again = r.redact_bytes(&out.bytes, ContentHint::Json);
        prop_assert_eq!(&again.bytes, &out.bytes);
        prop_assert!(again.counts.is_empty());
        // The in-place variant agrees on what is left.
        let mut v = doc.clone();
        r.redact_value(&mut v);
        let vt = v.to_string();
        for secret in planted() {
            prop_assert!(!vt.contains(&secret));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_redaction_is_idempotent(
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let r = redactor();
        for hint in [ContentHint::Auto, ContentHint::Text, ContentHint::JsonLines, ContentHint::Json] {
            let once = r.redact_bytes(&bytes, hint);
            let twice = r.redact_bytes(&once.bytes, hint);
            prop_assert_eq!(&twice.bytes, &once.bytes);
        }
    }

    #[test]
    fn json_documents_of_soup_strings_stay_json_and_idempotent(
        strings in proptest::collection::vec(soup(), 1..6),
        keys in proptest::collection::vec(soup(), 1..6),
    ) {
        let mut map = serde_json::Map::new();
        for (k, v) in keys.iter().zip(&strings) {
            map.insert(
                String::from_utf8_lossy(k).into_owned(),
                json!([String::from_utf8_lossy(v), {"name": String::from_utf8_lossy(k), "value": 1}]),
            );
        }
        let text = serde_json::Value::Object(map).to_string();
        let r = redactor();
        let once = r.redact_bytes(text.as_bytes(), ContentHint::Json);
        let out = String::from_utf8(once.bytes.clone()).unwrap();
        prop_assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok(), "{}", out);
        let twice = r.redact_bytes(&once.bytes, ContentHint::Json);
        prop_assert_eq!(&twice.bytes, &once.bytes, "{}", out);
        prop_assert!(twice.counts.is_empty());
    }

    #[test]
    fn fragment_soup_is_idempotent(bytes in soup()) {
        let r = redactor();
        for hint in [ContentHint::Auto, ContentHint::Text, ContentHint::JsonLines] {
            let once = r.redact_bytes(&bytes, hint);
            let twice = r.redact_bytes(&once.bytes, hint);
            prop_assert_eq!(
                &twice.bytes, &once.bytes,
                "input {:?}\nonce  {:?}",
                String::from_utf8_lossy(&bytes), String::from_utf8_lossy(&once.bytes)
            );
            prop_assert!(twice.counts.is_empty(), "{:?} in {:?}", twice.counts, String::from_utf8_lossy(&once.bytes));
        }
    }
}

#[test]
fn long_strings_split_into_windows_keep_their_escapes_whole() {
    // The second window of this string starts inside `\u0041`, where it reads "0041..." as
    // text; the forbidden token matches there only by that accident and must not be spliced
    // into the middle of the escape. The real occurrence later is redacted.
    let token = "0041secretzz";
    let r = Redactor::new(&[token.to_owned()]).unwrap();
    let boundary = decode::WINDOW - decode::OVERLAP;
    let content = format!(
        "{}\\u0041secretzz{} {token} end",
        "x".repeat(boundary - 2),
        "y".repeat(200_000)
    );
    let doc = format!("{{\"v\": \"{content}\"}}");
    let out = r.redact_bytes(doc.as_bytes(), ContentHint::Json);
    let text = String::from_utf8(out.bytes).unwrap();
    assert_json(&text);
    assert!(text.contains("\\u0041secretzz"));
    assert!(text.ends_with(" [REDACTED:forbidden-token] end\"}"));
    assert_eq!(out.counts.get(SecretClass::ForbiddenToken), 1);
}
