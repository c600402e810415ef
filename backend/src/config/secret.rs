//! Secrets in the configuration: a literal string, `{ env = "NAME" }` or `{ file = "path" }`.
//! They are resolved when used rather than when the file is checked, so `checkconfig` works on
//! a machine without the secrets, and their `Debug` never shows a value.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::error::ConfigError;

/// A password or token, or where to find one.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// Written in the file itself.
    Literal(String),
    /// Read from this environment variable.
    Env(String),
    /// Read from this file (absolute once validated), without its trailing newline.
    File(PathBuf),
}

impl Secret {
    /// The secret's value.
    pub fn resolve(&self) -> Result<String, ConfigError> {
        match self {
            Secret::Literal(value) => Ok(value.clone()),
            Secret::Env(name) => std::env::var(name).map_err(|source| ConfigError::Env { name: name.clone(), source }),
            Secret::File(path) => {
                let mut text =
                    std::fs::read_to_string(path).map_err(|source| ConfigError::Io { path: path.clone(), source })?;
                if text.ends_with('\n') {
                    text.pop();
                    if text.ends_with('\r') {
                        text.pop();
                    }
                }
                Ok(text)
            }
        }
    }

    /// Makes a relative secret file path absolute against the config file's directory.
    pub(crate) fn relative_to(self, dir: &Path) -> Secret {
        match self {
            Secret::File(path) if path.is_relative() => Secret::File(dir.join(path)),
            other => other,
        }
    }
}

impl fmt::Debug for Secret {
    /// Shows where a secret comes from but never a literal value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Literal(_) => f.write_str("Secret(<redacted>)"),
            Secret::Env(name) => write!(f, "Secret(env = {name:?})"),
            Secret::File(path) => write!(f, "Secret(file = {:?})", path.display().to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SecretVisitor)
    }
}

struct SecretVisitor;

const SECRET_KEYS: &[&str] = &["env", "file"];

impl<'de> Visitor<'de> for SecretVisitor {
    type Value = Secret;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"a string, { env = "NAME" } or { file = "path" }"#)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Secret, E> {
        Ok(Secret::Literal(value.to_owned()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Secret, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            let value: String = map.next_value()?;
            let secret = match key.as_str() {
                "env" => Secret::Env(value),
                "file" => Secret::File(PathBuf::from(value)),
                other => return Err(de::Error::unknown_field(other, SECRET_KEYS)),
            };
            if found.replace(secret).is_some() {
                return Err(de::Error::custom("a secret takes exactly one of `env` or `file`"));
            }
        }
        found.ok_or_else(|| de::Error::custom(r#"a secret table needs `env = "NAME"` or `file = "path"`"#))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Holder {
        s: Secret,
    }

    fn secret(toml_text: &str) -> Result<Secret, toml::de::Error> {
        toml::from_str::<Holder>(toml_text).map(|h| h.s)
    }

    #[test]
    fn literal_resolves_to_itself_and_debug_redacts_it() {
        let s = secret(r#"s = "hunter2""#).unwrap();
        assert_eq!(s.resolve().unwrap(), "hunter2");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert!(!format!("{:?}", vec![s]).contains("hunter2"));
    }

    #[test]
    fn env_secret_reads_the_variable() {
        let name = "CASCADE_CONFIG_TEST_SECRET_ENV";
        // SAFETY: only this test touches this variable name.
        unsafe { std::env::set_var(name, "from-env") };
        let s = secret(&format!(r#"s = {{ env = "{name}" }}"#)).unwrap();
        assert_eq!(s.resolve().unwrap(), "from-env");
        assert!(!format!("{s:?}").contains("from-env"));
        let missing = Secret::Env("CASCADE_CONFIG_TEST_SURELY_UNSET".into());
        assert!(matches!(missing.resolve(), Err(ConfigError::Env { .. })));
    }

    #[test]
    fn file_secret_is_relative_to_config_dir_and_loses_trailing_newline() {
        let dir = std::env::temp_dir().join(format!("cascade-secret-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("token"), "s3cret\n").unwrap();
        let s = secret(r#"s = { file = "token" }"#).unwrap().relative_to(&dir);
        assert_eq!(s, Secret::File(dir.join("token")));
        assert_eq!(s.resolve().unwrap(), "s3cret");
        assert!(!format!("{s:?}").contains("s3cret"));
        let gone = Secret::File(dir.join("missing"));
        assert!(matches!(gone.resolve(), Err(ConfigError::Io { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn secret_table_needs_exactly_one_known_key() {
        assert!(secret(r#"s = { env = "A", file = "b" }"#).is_err());
        assert!(secret(r#"s = {}"#).is_err());
        let e = secret(r#"s = { path = "x" }"#).unwrap_err();
        assert!(e.message().contains("unknown field `path`"), "{e}");
        assert!(secret("s = 3").is_err());
    }
}
