"""What-Works statistics of analysis-plan.md §7: effect sizes on the total variance, MDES, attrition,
compliance and CACE, missing data, subgroups, randomisation inference."""
