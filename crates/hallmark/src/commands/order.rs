//! `hallmark order`: create, list, show, close production orders.

use anyhow::Result;
use hallmark_authority::{DeviceIdSpec, OrderSpec};
use hallmark_store::{DeviceIdRule, OrderRecord};
use serde_json::json;

use crate::cli::{OrderCommand, OrderCreateArgs};
use crate::home::Home;
use crate::table;

pub async fn run(home: &Home, command: OrderCommand) -> Result<()> {
    let authority = home.authority().await?;
    match command {
        OrderCommand::Create(args) => create(&authority, args).await,
        OrderCommand::List { json } => {
            let orders = authority.orders().await?;
            if json {
                let all: Vec<_> = orders.iter().map(OrderRecord::to_json).collect();
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                print!("{}", orders_table(&orders));
            }
            Ok(())
        }
        OrderCommand::Show { id, json } => {
            let order = authority.order(&id).await?;
            let stations = authority.stations(&id).await?;
            if json {
                let mut value = order.to_json();
                value["station_ids"] = json!(stations.iter().map(|s| &s.id).collect::<Vec<_>>());
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                print!("{}", describe(&order));
                for station in stations {
                    let state = if station.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    };
                    println!(
                        "  station {}  {state}  certificate until {}",
                        station.id,
                        crate::table::when(station.current.not_after)
                    );
                }
            }
            Ok(())
        }
        OrderCommand::Close { id } => {
            let order = authority.close_order(&id).await?;
            println!(
                "closed order {}: {} issued, {} refused, {} of {} never used",
                order.order.id,
                order.issued,
                order.refused,
                order.left(),
                order.order.quantity
            );
            Ok(())
        }
        OrderCommand::Tokens { id, count, json } => {
            let tokens = authority.add_station_tokens(&id, count).await?;
            print_tokens(&id, &tokens, json)
        }
    }
}

async fn create(authority: &hallmark_authority::Authority, args: OrderCreateArgs) -> Result<()> {
    let device_ids = match (args.device_id_pattern, args.device_id_template) {
        (Some(pattern), _) => Some(DeviceIdSpec::Pattern(pattern)),
        (None, Some(template)) => Some(DeviceIdSpec::Template(template)),
        (None, None) => None,
    };
    let created = authority
        .create_order(OrderSpec {
            factory: args.factory,
            product: args.product,
            quantity: args.quantity,
            starts_at: args.starts,
            expires_at: args.expires,
            device_ids,
            stations: args.stations,
        })
        .await?;
    if !args.json {
        print!("{}", describe(&created.order));
    }
    print_tokens(&created.order.order.id, &created.station_tokens, args.json)
}

fn print_tokens(order_id: &str, tokens: &[String], json: bool) -> Result<()> {
    if json {
        let value = json!({ "order_id": order_id, "station_tokens": tokens });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!("station enrollment tokens (each works once; shown only now):");
    for token in tokens {
        println!("  {token}");
    }
    Ok(())
}

fn rule_text(rule: &DeviceIdRule) -> String {
    match rule {
        DeviceIdRule::Template(t) => format!("template {t}"),
        DeviceIdRule::Pattern(p) => format!("pattern {p}"),
    }
}

fn describe(order: &OrderRecord) -> String {
    let o = &order.order;
    format!(
        "order {}  ({})\n  factory {}  product {}  device ids: {}\n  window {} .. {}\n  \
         quantity {}  issued {}  pending {}  left {}  refused {}  stations {}\n",
        o.id,
        order.status,
        o.factory,
        o.product,
        rule_text(&o.device_ids),
        crate::table::when(o.starts_at),
        crate::table::when(o.expires_at),
        o.quantity,
        order.issued,
        order.pending,
        order.left(),
        order.refused,
        order.stations
    )
}

fn orders_table(orders: &[OrderRecord]) -> String {
    let rows: Vec<Vec<String>> = orders
        .iter()
        .map(|o| {
            vec![
                o.order.id.clone(),
                o.status.to_string(),
                o.order.factory.clone(),
                o.order.product.clone(),
                o.order.quantity.to_string(),
                o.issued.to_string(),
                o.left().to_string(),
                o.refused.to_string(),
                crate::table::when(o.order.expires_at),
            ]
        })
        .collect();
    table::render(
        &[
            "ORDER", "STATUS", "FACTORY", "PRODUCT", "QUANTITY", "ISSUED", "LEFT", "REFUSED",
            "EXPIRES",
        ],
        &rows,
    )
}
