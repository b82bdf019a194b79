//! A1111's sampler names (the `Sampler:` value its UI and Civitai filter on) for the
//! schedulers here, by `sd --scheduler` name or diffusers class name.

use crate::schedulers::config::SchedulerClass;

/// A1111's name for a scheduler; a name it has none for is returned as given, so nothing
/// is claimed that was not run.
pub fn a1111_sampler(scheduler: &str) -> String {
    if let Some(class) = SchedulerClass::from_name(scheduler) {
        return match class {
            SchedulerClass::Ddim => "DDIM",
            // A1111 calls diffusers' PNDM (with its PRK steps skipped, as SD's configs do) PLMS.
            SchedulerClass::Pndm => "PLMS",
            SchedulerClass::Euler => "Euler",
            SchedulerClass::EulerAncestral => "Euler a",
            SchedulerClass::DpmSolver => "DPM++ 2M",
            SchedulerClass::Heun => "Heun",
            SchedulerClass::Lms => "LMS",
        }
        .to_string();
    }
    match scheduler {
        "UniPCMultistepScheduler" => "UniPC",
        // Flow matching's Euler step is the same first-order step on the flow's ODE.
        "FlowMatchEulerDiscreteScheduler" | "FlashFlowMatchEulerDiscreteScheduler" => "Euler",
        other => other,
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::a1111_sampler;

    #[test]
    fn short_and_class_names_map_to_a1111_names() {
        // A1111's names, from its sampler list (modules/sd_samplers_*.py).
        for (ours, class, want) in [
            ("ddim", "DDIMScheduler", "DDIM"),
            ("pndm", "PNDMScheduler", "PLMS"),
            ("euler", "EulerDiscreteScheduler", "Euler"),
            ("euler-a", "EulerAncestralDiscreteScheduler", "Euler a"),
            ("dpm++2m", "DPMSolverMultistepScheduler", "DPM++ 2M"),
            ("heun", "HeunDiscreteScheduler", "Heun"),
            ("lms", "LMSDiscreteScheduler", "LMS"),
        ] {
            assert_eq!(a1111_sampler(ours), want);
            assert_eq!(a1111_sampler(class), want);
        }
        assert_eq!(a1111_sampler("UniPCMultistepScheduler"), "UniPC");
        assert_eq!(
            a1111_sampler("FlashFlowMatchEulerDiscreteScheduler"),
            "Euler"
        );
        assert_eq!(a1111_sampler("FlowMatchEulerDiscreteScheduler"), "Euler");
        assert_eq!(a1111_sampler("LCMScheduler"), "LCMScheduler");
    }
}
