//! Placeholder: replaced by the full implementation on branch `prims`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaintEffect { NoSchedule, PreferNoSchedule, NoExecute }
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Taint { pub key: String, pub value: String, pub effect: TaintEffect }
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TolerationOp { Equal, Exists }
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Toleration { pub key: String, pub op: TolerationOp, pub value: String, pub effect: Option<TaintEffect>, pub toleration_seconds: Option<i64> }
