//! DefaultBinder: binds the pod to the selected node through the API (the
//! run loop's `World::bind`).
//!
//! Follows pkg/scheduler/framework/plugins/defaultbinder/default_binder.go
//! (v1.35). The Binding call cannot fail in the simulation.

use crate::scheduler::framework::*;

pub const NAME: &str = "DefaultBinder";

pub struct DefaultBinder;

impl Plugin for DefaultBinder {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_bind(&self) -> Option<&dyn BindPlugin> {
        Some(self)
    }
}

impl BindPlugin for DefaultBinder {
    fn bind(&self, _: &CycleContext, _: &State, _: NodeId) -> Status {
        Status::SUCCESS
    }
}
