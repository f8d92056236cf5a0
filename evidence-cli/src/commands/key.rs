//! `evidence key generate|id`: Ed25519 signing keys.

use std::path::PathBuf;

use evidence_core::keys::{self, PublicKey};

use crate::exit::{CliError, Outcome};
use crate::output::write_stdout;

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
            let key = match PublicKey::load(file) {
                Ok(k) => k,
                Err(public_err) => match keys::PrivateKey::load(file) {
                    Ok(k) => k.public(),
                    Err(_) => {
                        return Err(CliError::from(public_err)
                            .hint("pass an SPKI PEM public key or a PKCS#8 PEM private key"));
                    }
                },
            };
            write_stdout(&format!("{}\n", key.key_id()))?;
            Ok(Outcome::Ok)
        }
    }
}
