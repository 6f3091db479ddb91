//! DynamicResources, as far as kubesim models it: its PostFilter, which runs
//! before DefaultPreemption and, for a pod without ResourceClaims, has nothing
//! to deallocate. ResourceClaims themselves are not simulated.
//!
//! Follows pkg/scheduler/framework/plugins/dynamicresources/dynamicresources.go
//! `PostFilter` (v1.35): Unschedulable with "no new claims to deallocate", so
//! the next PostFilter plugin still runs and the reasons are joined. DRA is on
//! by default from v1.34; before, the plugin is not in the default profile, and
//! here it adds no reason.

use crate::scheduler::Preemption;
use crate::scheduler::framework::*;

pub const NAME: &str = "DynamicResources";
pub const REASON: &str = "no new claims to deallocate";

pub struct DynamicResources;

impl Plugin for DynamicResources {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_post_filter(&self) -> Option<&dyn PostFilterPlugin> {
        Some(self)
    }
}

impl PostFilterPlugin for DynamicResources {
    fn post_filter(&self, h: &mut PostFilterHandle) -> (Status, Option<Preemption>) {
        let reasons = if h.cycle().version.at_least(34) {
            vec![REASON.into()]
        } else {
            Vec::new()
        };
        (
            Status {
                code: Code::Unschedulable,
                reasons,
            },
            None,
        )
    }
}
