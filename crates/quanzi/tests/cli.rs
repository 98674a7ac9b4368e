//! The command line as an operator uses it.

mod common;

use common::{field, run, Node};

#[test]
fn print_default_config_prints_toml_that_loads_back() {
    let out = run(&["print-default-config"], &[]);
    assert!(out.contains("[database]") && out.contains("sqlite://data/quanzi.db"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quanzi.toml");
    std::fs::write(&path, &out).unwrap();
    let url = format!("sqlite://{}", dir.path().join("q.db").display());
    let migrated = run(
        &[
            "--config",
            path.to_str().unwrap(),
            "migrate",
            "--database",
            &url,
        ],
        &[],
    );
    let all = quanzi_store::migrate::MIGRATIONS.len();
    assert!(
        migrated.contains(&format!("{all} migration(s) applied")),
        "{migrated}"
    );
    let again = run(&["migrate", "--database", &url], &[]);
    assert!(again.contains("0 migration(s) applied"), "{again}");
}

#[test]
fn a_bad_config_is_refused_with_the_key_named() {
    let output = std::process::Command::new(common::BIN)
        .args(["migrate"])
        .env("QUANZI__JOBS__CONCURENCY", "3")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("concurency"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workspace_and_key_commands_manage_access() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("q.db").display());
    let created = run(
        &[
            "workspace",
            "create",
            "--name",
            "鲜果时光",
            "--database",
            &url,
        ],
        &[],
    );
    let workspace = field(&created, "workspace");
    assert!(workspace.starts_with("ws_"));
    assert!(
        field(&created, "password").len() >= 10,
        "a generated password is shown once"
    );
    let second = run(
        &[
            "workspace",
            "create",
            "--name",
            "Second",
            "--owner-email",
            "admin@quanzi.local",
            "--database",
            &url,
        ],
        &[],
    );
    assert!(second.contains("existing account"), "{second}");
    let listed = run(&["workspace", "list", "--database", &url], &[]);
    assert!(listed.contains("鲜果时光") && listed.contains("Second"));

    let key_out = run(
        &[
            "key",
            "create",
            "--workspace",
            &workspace,
            "--name",
            "mini-program",
            "--scopes",
            "storefront,ingest",
            "--database",
            &url,
        ],
        &[],
    );
    let key_id = field(&key_out, "key");
    let secret = field(&key_out, "secret");
    assert!(key_out.contains("scopes ingest,storefront"), "{key_out}");

    let node = Node::start(&url, &[("QUANZI__JOBS__ENABLED", "false")]).await;
    let client = reqwest::Client::new();
    let me = client
        .get(format!("{}/api/v1/workspace", node.base))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let revoked = run(
        &[
            "key",
            "revoke",
            "--workspace",
            &workspace,
            &key_id,
            "--database",
            &url,
        ],
        &[],
    );
    assert!(revoked.contains(&key_id));
    let after = client
        .get(format!("{}/api/v1/workspace", node.base))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401);
}

#[test]
fn analyze_clv_fits_the_cdnow_table_and_scores_every_customer() {
    let input = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../quanzi-domain/src/analytics/clv/testdata/cdnow_customers_summary.csv"
    );
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("scores.csv");
    let out = run(
        &[
            "analyze",
            "clv",
            "--input",
            input,
            "--output",
            output.to_str().unwrap(),
        ],
        &[],
    );
    // The published fit: r = 0.243, α = 4.414, a = 0.793, b = 2.426.
    let line = out.lines().find(|l| l.starts_with("BG/NBD")).unwrap();
    for expected in ["r 0.2425", "alpha 4.413", "a 0.792", "b 2.425"] {
        assert!(line.contains(expected), "{line}");
    }
    let scores = std::fs::read_to_string(&output).unwrap();
    assert_eq!(scores.lines().count(), 2357 + 1);
    let first: Vec<&str> = scores.lines().nth(1).unwrap().split(',').collect();
    let p_alive: f64 = first[1].parse().unwrap();
    assert!((0.0..=1.0).contains(&p_alive));
}

#[test]
fn analyze_attribution_runs_every_model_and_each_credits_every_conversion() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("paths.csv");
    std::fs::write(
        &input,
        "path,total_conversions,total_conversion_value,total_null\n\
         search > wechat > kol,10,1000,40\nwechat,5,300,100\nkol > search,3,250,20\nsearch,2,80,60\n",
    )
    .unwrap();
    let output = dir.path().join("credits.csv");
    let out = run(
        &[
            "analyze",
            "attribution",
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.contains("markov order 1"), "{out}");
    let credits = std::fs::read_to_string(&output).unwrap();
    let mut per_model = std::collections::BTreeMap::<String, (f64, f64)>::new();
    for line in credits.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        let entry = per_model.entry(cells[1].to_owned()).or_default();
        entry.0 += cells[2].parse::<f64>().unwrap();
        entry.1 += cells[3].parse::<f64>().unwrap();
    }
    assert_eq!(per_model.len(), 9, "{per_model:?}");
    for (model, (conversions, value)) in per_model {
        assert!((conversions - 20.0).abs() < 1e-6, "{model}: {conversions}");
        assert!((value - 1630.0).abs() < 1e-6, "{model}: {value}");
    }
}
