"""The statistics survey (公共机构能源资源消费统计调查制度): the institution forms and the summaries of a year as
XLSX, and the machine-readable file for a provincial platform, from the field list of domain/survey_forms.toml."""
