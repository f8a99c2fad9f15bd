//! `hallmark ca list` and `hallmark ca chain`.

use anyhow::Result;
use hallmark_pki::pem;
use hallmark_store::{AuthorityKey, KeyRole};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cli::CaCommand;
use crate::home::Home;
use crate::table;

pub async fn run(home: &Home, cmd: CaCommand) -> Result<()> {
    let store = home.store().await?;
    match cmd {
        CaCommand::List { json } => {
            let keys = in_hierarchy_order(store.authority_keys().await?);
            if json {
                let rows: Vec<_> = keys.iter().map(to_json).collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                print_table(&keys);
            }
        }
        CaCommand::Chain { ca } => {
            let chain = hallmark_authority::chain(store.as_ref(), &ca).await?;
            print!(
                "{}",
                pem::encode_certificates(chain.iter().map(Vec::as_slice))
            );
        }
    }
    Ok(())
}

/// Hierarchy order for tables: root, then each factory's CA and responder,
/// station CA, audit key.
pub fn in_hierarchy_order(mut keys: Vec<AuthorityKey>) -> Vec<AuthorityKey> {
    keys.sort_by_key(|k| (role_rank(k.role), k.factory.clone(), k.id.clone()));
    keys
}

fn role_rank(role: KeyRole) -> u8 {
    match role {
        KeyRole::Root => 0,
        KeyRole::Issuing | KeyRole::OcspResponder | KeyRole::OfflineCa => 1,
        KeyRole::StationCa | KeyRole::StationSubCa => 2,
        KeyRole::Audit => 3,
    }
}

fn date(unix: Option<i64>) -> String {
    unix.and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "-".into())
}

fn to_json(key: &AuthorityKey) -> serde_json::Value {
    json!({
        "id": key.id,
        "role": key.role.as_str(),
        "parent": key.parent_id,
        "factory": key.factory,
        "subject": key.subject,
        "algorithm": key.algorithm,
        "key_uri": key.key_uri,
        "not_after": date(key.not_after),
    })
}

/// Prints the CA table: id, role, subject, algorithm, key location, not-after.
pub fn print_table(keys: &[AuthorityKey]) {
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|k| {
            vec![
                k.id.clone(),
                k.role.as_str().to_string(),
                k.subject.clone().unwrap_or_else(|| "-".into()),
                k.algorithm.clone(),
                k.key_uri.clone(),
                date(k.not_after),
            ]
        })
        .collect();
    print!(
        "{}",
        table::render(
            &["ID", "ROLE", "SUBJECT", "ALGORITHM", "KEY", "NOT AFTER"],
            &rows
        )
    );
}
