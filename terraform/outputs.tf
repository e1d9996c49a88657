output "alb_dns_name" { value = aws_lb.main.dns_name }
output "database_endpoint" { value = aws_db_instance.main.address }
output "redis_endpoint" { value = aws_elasticache_replication_group.main.primary_endpoint_address }
output "files_cdn" { value = aws_cloudfront_distribution.files.domain_name }
