//! `cargo run --example quickstart`
//!
//! With `PIPECAT_API_KEY` set: lists your organization's secret sets, and
//! changes nothing.
//!
//! Without it: starts a fake Pipecat Cloud in this process and walks a secret
//! set through its life: create, list, get, delete, then shows a bad name
//! being refused before anything is sent.

use pipecat_api::types::UpsertSecretSetBody;
use pipecat_api::{Client, Error};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os(pipecat_api::ENV_PRIVATE_KEY).is_some() {
        let client = Client::from_env()?;
        println!("listing secret sets at {}", client.base_url());
        list(&client).await?;
        return Ok(());
    }

    let fake = pipecat_fake::FakeCloud::start().await?;
    println!(
        "PIPECAT_API_KEY is not set: using a fake Pipecat Cloud at {}\n",
        fake.url()
    );
    let client = Client::builder()
        .host(fake.url())
        .private_key(fake.private_key())
        .build()?;

    println!("1. create the secret set `quickstart-secrets`");
    let body =
        UpsertSecretSetBody::secrets([("OPENAI_API_KEY", "sk-example"), ("LOG_LEVEL", "debug")])?;
    let accepted = client
        .upsert_secret_set()
        .set_name("quickstart-secrets")
        .body(body)
        .send()
        .await?;
    println!(
        "   accepted, region {}",
        accepted.region.as_deref().unwrap_or("?")
    );

    println!("2. list secret sets");
    list(&client).await?;

    println!("3. get `quickstart-secrets` (values are never returned)");
    let set = client
        .get_secret_set()
        .set_name("quickstart-secrets")
        .send()
        .await?;
    let keys: Vec<&str> = set
        .secrets
        .iter()
        .filter_map(|k| k.field_name.as_deref())
        .collect();
    let status = set.status.map(|s| s.to_string()).unwrap_or_default();
    println!("   status {status}, keys {keys:?}");

    println!("4. delete the whole set (DELETE /secrets/{{setName}})");
    client
        .delete_secret_set()
        .set_name("quickstart-secrets")
        .send()
        .await?;
    match client
        .get_secret_set()
        .set_name("quickstart-secrets")
        .send()
        .await
    {
        Err(e) if e.is_not_found() => println!("   gone: {e}"),
        other => return Err(format!("expected 404 after delete, got {other:?}").into()),
    }

    println!("5. a bad set name is refused before anything is sent");
    let before = fake.request_count();
    let refused = client
        .delete_secret_set()
        .set_name("Not_A_Valid_Name")
        .send()
        .await;
    let Err(err) = refused else {
        return Err("expected the bad name to be refused".into());
    };
    println!("   {err}");
    println!("   requests sent: {}", fake.request_count() - before);
    Ok(())
}

async fn list(client: &Client) -> Result<(), Error> {
    let sets = client.list_secret_sets().send().await?.sets;
    if sets.is_empty() {
        println!("   (no secret sets)");
    }
    for set in sets {
        println!(
            "   {:<24} {:<16} {:<10} {}",
            set.name.unwrap_or_default(),
            set.type_.map(|t| t.to_string()).unwrap_or_default(),
            set.region.unwrap_or_default(),
            set.status.map(|s| s.to_string()).unwrap_or_default(),
        );
    }
    Ok(())
}
