//! `evidence key generate|id`: Ed25519 signing keys; `evidence keyring create`: a keyring of
//! public keys and a threshold.

use std::path::PathBuf;

use evidence_core::keys::{self, KeyError, KeyFileKind, Keyring, NamedKey, PublicKey};

use crate::exit::{CliError, Outcome};
use crate::output::write_stdout;
use crate::signing::key_error;

/// Key commands.
#[derive(Debug, clap::Subcommand)]
pub enum KeyCommand {
    /// Generate an Ed25519 key pair: PREFIX.key (PKCS#8 PEM, mode 0600) and PREFIX.pub (SPKI PEM).
    #[command(after_long_help = "\
Prints the key id (lower-case hex SHA-256 of the 32-byte public key).
Keys interoperate with OpenSSL: `openssl pkey -in PREFIX.key -pubout` gives PREFIX.pub.
Existing files are never overwritten.

Example:
  evidence key generate --out keys/operator
  evidence bundle create --kind incident --sign keys/operator.key --out pack notes.txt")]
    Generate {
        /// Where to write the pair: PREFIX.key and PREFIX.pub.
        #[arg(long, value_name = "PREFIX")]
        out: PathBuf,
    },
    /// Print the key id of a public key (SPKI PEM) or private key (PKCS#8 PEM) file.
    Id {
        /// The key file.
        #[arg(value_name = "KEYFILE")]
        file: PathBuf,
    },
}

/// Runs a key command.
pub fn run(command: &KeyCommand) -> Result<Outcome, CliError> {
    match command {
        KeyCommand::Generate { out } => {
            let (_, id) = keys::generate_key_pair(out).map_err(|e| {
                CliError::from(e).hint("choose a prefix whose .key and .pub files do not exist yet")
            })?;
            write_stdout(&format!("{id}\n"))?;
            Ok(Outcome::Ok)
        }
        KeyCommand::Id { file } => {
            let hint = "pass an SPKI PEM public key or a PKCS#8 PEM private key";
            let key = match PublicKey::load(file) {
                Err(KeyError::WrongKind {
                    found: KeyFileKind::Ed25519Private,
                    ..
                }) => keys::PrivateKey::load(file)
                    .map(|(k, _)| k.public())
                    .map_err(|e| key_error(e, hint))?,
                loaded => loaded.map_err(|e| key_error(e, hint))?,
            };
            write_stdout(&format!("{}\n", key.key_id()))?;
            Ok(Outcome::Ok)
        }
    }
}

/// Keyring commands.
#[derive(Debug, clap::Subcommand)]
pub enum KeyringCommand {
    /// Write a keyring file (docs/FORMAT.md): named public keys and how many must sign.
    #[command(after_long_help = "\
Refuses a name or key given twice, a file that is not an Ed25519 public key, a threshold of 0
or above the number of keys, and an existing --out. Prints each key's name and id.

Example:
  evidence keyring create --key alice=keys/alice.pub --key bob=keys/bob.pub \\
      --threshold 2 --out ops.keyring.json
  evidence bundle verify packs/inc-42 --keyring ops.keyring.json")]
    Create {
        /// A key of the keyring: its name, `=`, and its SPKI PEM public key file; repeatable.
        #[arg(long = "key", value_name = "NAME=PUBFILE", required = true, value_parser = parse_named_file)]
        keys: Vec<(String, PathBuf)>,
        /// How many distinct keys of the keyring must sign.
        #[arg(long, value_name = "N")]
        threshold: u32,
        /// The keyring file to write (must not exist).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

fn parse_named_file(text: &str) -> Result<(String, PathBuf), String> {
    match text.split_once('=') {
        Some((name, file)) if !name.is_empty() && !file.is_empty() => {
            Ok((name.to_owned(), PathBuf::from(file)))
        }
        _ => Err("expected NAME=PUBFILE, for example alice=keys/alice.pub".to_owned()),
    }
}

/// Runs a keyring command.
pub fn run_keyring(command: &KeyringCommand) -> Result<Outcome, CliError> {
    let KeyringCommand::Create {
        keys,
        threshold,
        out,
    } = command;
    let named = keys
        .iter()
        .map(|(name, file)| {
            let key = PublicKey::load(file).map_err(|e| {
                key_error(
                    e,
                    "pass SPKI PEM public keys (`evidence key generate` writes PREFIX.pub)",
                )
            })?;
            Ok(NamedKey {
                name: name.clone(),
                key,
            })
        })
        .collect::<Result<Vec<_>, CliError>>()?;
    let ring = Keyring::new(named, *threshold).map_err(|e| {
        CliError::from(e).hint(
            "give each key once, under its own name, and a threshold from 1 to the number of keys",
        )
    })?;
    ring.save(out).map_err(|e| {
        CliError::from(e).hint("choose a new --out; keyrings are never overwritten")
    })?;
    let mut text: String = ring
        .keys
        .iter()
        .map(|k| format!("{} {}\n", k.key.key_id(), k.name))
        .collect();
    let plural = if ring.keys.len() == 1 { "" } else { "s" };
    text.push_str(&format!(
        "wrote {}: {} key{plural}, {} must sign\n",
        out.display(),
        ring.keys.len(),
        ring.threshold
    ));
    write_stdout(&text)?;
    Ok(Outcome::Ok)
}
