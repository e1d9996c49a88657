variable "region" {
  type    = string
  default = "eu-west-3" # Paris: citizens' data stays in France
}
variable "environment" { type = string }
variable "platform_domain" {
  type        = string
  description = "Tenants live on <slug>.<platform_domain>; the operator on admin.<platform_domain>."
}
variable "hosted_zone_id" { type = string }
variable "image" {
  type        = string
  description = "The Pnyx image (infra/Dockerfile) in ECR, with its tag."
}
variable "web_count" {
  type    = number
  default = 2
}
variable "worker_count" {
  type    = number
  default = 1
}
variable "db_instance_class" {
  type    = string
  default = "db.r6g.large"
}
variable "redis_node_type" {
  type    = string
  default = "cache.t4g.medium"
}
