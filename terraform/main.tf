# Pnyx on AWS: VPC, ALB + ACM (wildcard for tenant subdomains), ECS Fargate (web + worker),
# RDS PostgreSQL, ElastiCache Redis, S3 + CloudFront for files. One stack per environment.
terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.0" }
  }
}

provider "aws" {
  region = var.region
}

provider "aws" {
  alias  = "us_east_1" # CloudFront certificates live there
  region = "us-east-1"
}

locals {
  name = "pnyx-${var.environment}"
  tags = { Project = "pnyx", Environment = var.environment }
}

data "aws_availability_zones" "available" { state = "available" }
