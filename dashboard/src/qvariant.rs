//! JSON values as QML reads them: objects become QVariantMaps, arrays QVariantLists,
//! numbers doubles (QML 6.4 turns 64-bit integers into objects), null an empty QVariant.

use cxx_qt_lib::{QList, QMap, QMapPair_QString_QVariant, QString, QVariant};
use serde_json::Value;

pub fn to_qvariant(value: &Value) -> QVariant {
    match value {
        Value::Null => QVariant::default(),
        Value::Bool(b) => QVariant::from(b),
        Value::Number(n) => QVariant::from(&n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => QVariant::from(&QString::from(s)),
        Value::Array(items) => QVariant::from(&items.iter().map(to_qvariant).collect::<QList<QVariant>>()),
        Value::Object(fields) => {
            let mut map = QMap::<QMapPair_QString_QVariant>::default();
            for (key, field) in fields {
                map.insert(QString::from(key), to_qvariant(field));
            }
            QVariant::from(&map)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_json_reads_back_from_the_variants() {
        let variant = to_qvariant(
            &serde_json::json!({"name": "Plasma", "used": 738197504u64, "ok": true, "rows": [1.5, "x"], "gone": null}),
        );
        let map = variant.value::<QMap<QMapPair_QString_QVariant>>().expect("a map");
        assert_eq!(
            map.get(&QString::from("name")).and_then(|v| v.value::<QString>()).map(|s| s.to_string()),
            Some("Plasma".into())
        );
        assert_eq!(map.get(&QString::from("used")).and_then(|v| v.value::<f64>()), Some(738197504.0));
        assert_eq!(map.get(&QString::from("ok")).and_then(|v| v.value::<bool>()), Some(true));
        let rows = map.get(&QString::from("rows")).and_then(|v| v.value::<QList<QVariant>>()).expect("a list");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows.get(0).and_then(|v| v.value::<f64>()), Some(1.5));
        assert!(map.get(&QString::from("gone")).is_some_and(|v| v.value::<f64>().is_none()));
    }
}
