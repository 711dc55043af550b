//! Several Stripe accounts from `[stripe.accounts.<acct_id>]`: where each key comes from, what
//! is refused, and that no key is ever shown.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use stripe_chat_message::Secret;
use stripe_chat_stripe::{AccountConfig, Accounts, Client, Retry};

const PLATFORM_KEY: &str = "sk_live_51PlatformKeyDoNotLeak";
const EUROPE_KEY: &str = "rk_live_51EuropeKeyDoNotLeak";

/// The `[stripe]` table as a server would hold it, with the accounts beside its own keys.
#[derive(Deserialize)]
struct StripeTable {
    #[serde(default)]
    accounts: BTreeMap<String, AccountConfig>,
}

#[derive(Deserialize)]
struct File {
    stripe: StripeTable,
}

fn platform() -> Client {
    Client::builder(Secret::new(PLATFORM_KEY))
        .api_base("http://127.0.0.1:12111")
        .timeout(Duration::from_secs(7))
        .retry(Retry::attempts(4))
        .build()
        .expect("valid client")
}

fn accounts_of(toml_text: &str) -> BTreeMap<String, AccountConfig> {
    toml::from_str::<File>(toml_text)
        .expect("valid configuration")
        .stripe
        .accounts
}

fn env(name: &str) -> Option<String> {
    (name == "STRIPE_API_KEY_EUROPE").then(|| format!("  {EUROPE_KEY}\n"))
}

#[test]
fn each_account_gets_its_own_key_and_the_defaults_timeout_and_retries() {
    let configs = accounts_of(
        r#"
        [stripe.accounts.acct_1EuropeGmbH]
        api_key_env = "STRIPE_API_KEY_EUROPE"
        "#,
    );
    let accounts = Accounts::from_config(platform(), &configs, env).expect("usable");
    assert_eq!(
        accounts.accounts().collect::<Vec<_>>(),
        ["acct_1EuropeGmbH"]
    );
    let europe = accounts.route(Some("acct_1EuropeGmbH"));
    assert_eq!(europe.stripe_account, None);
    assert_eq!(europe.client.base_url(), "http://127.0.0.1:12111/");
    assert_eq!(europe.client.timeout(), Duration::from_secs(7));
    assert_eq!(europe.client.retry().attempts, 4);

    let connected = accounts.route(Some("acct_1Connected"));
    assert_eq!(connected.stripe_account, Some("acct_1Connected"));
    let shown = format!("{accounts:?} {europe:?} {connected:?}");
    assert!(!shown.contains("DoNotLeak"), "{shown}");
}

#[test]
fn a_key_can_come_from_a_file() {
    let dir = std::env::temp_dir().join(format!("stripe-chat-accounts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let file = dir.join("europe.key");
    std::fs::write(&file, format!("{EUROPE_KEY}\n")).expect("written");
    let config: AccountConfig =
        toml::from_str(&format!("api_key_file = '{}'", file.display())).expect("valid");
    let key = config.api_key("acct_1EuropeGmbH", |_| None).expect("read");
    assert_eq!(key.expose(), EUROPE_KEY);

    std::fs::write(&file, "\n").expect("written");
    let err = config.api_key("acct_1EuropeGmbH", |_| None).unwrap_err();
    assert_eq!(err.key, "stripe.accounts.acct_1EuropeGmbH.api_key_file");
    assert!(err.problem.ends_with("is empty"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_unusable_entry_is_refused_naming_its_key_and_never_the_secret() {
    let cases = [
        (
            "[stripe.accounts.acct_1A]\n",
            "stripe.accounts.acct_1A: set api_key_env or api_key_file",
        ),
        (
            "[stripe.accounts.acct_1A]\napi_key_env = \"STRIPE_API_KEY_EUROPE\"\napi_key_file = \"/run/k\"\n",
            "stripe.accounts.acct_1A.api_key_file: set api_key_file or api_key_env, not both",
        ),
        (
            "[stripe.accounts.acct_1A]\napi_key_env = \"UNSET_VARIABLE\"\n",
            "stripe.accounts.acct_1A.api_key_env: the environment variable UNSET_VARIABLE is not set",
        ),
        (
            "[stripe.accounts.europe]\napi_key_env = \"STRIPE_API_KEY_EUROPE\"\n",
            "stripe.accounts.europe: is not a Stripe account id (acct_ followed by letters and digits)",
        ),
        (
            "[stripe.accounts.acct_1A]\napi_key_env = \"STRIPE_API_KEY_EUROPE\"\napi_base = \"ftp://proxy\"\n",
            "stripe.accounts.acct_1A.api_base: the Stripe API base URL `ftp://proxy` is not an http(s) URL",
        ),
    ];
    for (text, expected) in cases {
        let err = Accounts::from_config(platform(), &accounts_of(text), env).unwrap_err();
        assert_eq!(err.to_string(), expected);
        assert!(!format!("{err:?}").contains("DoNotLeak"));
    }
}

#[test]
fn a_key_written_in_the_file_itself_is_not_accepted() {
    let err = toml::from_str::<File>(
        "[stripe.accounts.acct_1A]\napi_key = \"sk_live_51WrittenDoNotLeak\"\n",
    )
    .err()
    .expect("an unknown field");
    assert!(err.to_string().contains("unknown field `api_key`"), "{err}");
}
