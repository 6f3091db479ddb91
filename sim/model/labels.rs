//! Placeholder: replaced by the full implementation on branch `prims`.
use std::collections::BTreeMap;
pub type Labels = BTreeMap<String, String>;
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator { In, NotIn, Exists, DoesNotExist, Gt, Lt }
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement { pub key: String, pub op: Operator, pub values: Vec<String> }
impl Requirement {
    pub fn matches(&self, labels: &Labels) -> bool {
        let v = labels.get(&self.key);
        match self.op {
            Operator::In => v.is_some_and(|v| self.values.contains(v)),
            Operator::NotIn => !v.is_some_and(|v| self.values.contains(v)),
            Operator::Exists => v.is_some(),
            Operator::DoesNotExist => v.is_none(),
            Operator::Gt | Operator::Lt => false,
        }
    }
}
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LabelSelector { pub requirements: Vec<Requirement> }
impl LabelSelector {
    pub fn matches(&self, labels: &Labels) -> bool { self.requirements.iter().all(|r| r.matches(labels)) }
    pub fn is_empty(&self) -> bool { self.requirements.is_empty() }
    pub fn from_map(m: &Labels) -> Self { LabelSelector { requirements: m.iter().map(|(k, v)| Requirement { key: k.clone(), op: Operator::In, values: vec![v.clone()] }).collect() } }
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSelectorTerm { pub match_expressions: Vec<Requirement>, pub match_fields: Vec<Requirement> }
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSelector { pub terms: Vec<NodeSelectorTerm> }
