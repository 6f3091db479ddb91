//! DefaultPreemption: the PostFilter that, when a pod fits nowhere, nominates
//! it to a node where evicting lower-priority pods makes it fit. The evaluator
//! is `scheduler/preemption.rs`.
//!
//! Follows pkg/scheduler/framework/plugins/defaultpreemption/default_preemption.go
//! (v1.35): a failure's message is the evaluator's prefixed by "preemption: ",
//! with code Unschedulable so that the PostFilter plugins after it still run.

use crate::scheduler::Preemption;
use crate::scheduler::framework::*;
use crate::scheduler::preemption::preempt;
use crate::scheduler::profiles::PreemptionArgs;

pub const NAME: &str = "DefaultPreemption";

#[derive(Default)]
pub struct DefaultPreemption {
    pub args: PreemptionArgs,
}

impl Plugin for DefaultPreemption {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_post_filter(&self) -> Option<&dyn PostFilterPlugin> {
        Some(self)
    }
}

impl PostFilterPlugin for DefaultPreemption {
    fn post_filter(&self, h: &mut PostFilterHandle) -> (Status, Option<Preemption>) {
        match preempt(h, &self.args) {
            Ok(p) => (Status::SUCCESS, Some(p)),
            Err(msg) => (Status::unschedulable(format!("preemption: {msg}")), None),
        }
    }
}
