using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Countersign.Storage.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class UsernameSkeleton : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "UsernameSkeleton",
                table: "AspNetUsers",
                type: "character varying(256)",
                maxLength: 256,
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "IX_AspNetUsers_UsernameSkeleton",
                table: "AspNetUsers",
                column: "UsernameSkeleton",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_AspNetUsers_UsernameSkeleton",
                table: "AspNetUsers");

            migrationBuilder.DropColumn(
                name: "UsernameSkeleton",
                table: "AspNetUsers");
        }
    }
}
